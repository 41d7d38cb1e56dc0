-- What changed between versions?
with

changes as (
    select * from change_log
),

final as (
    select
        lcd_id,
        from_version as from_v,
        to_version as to_v,
        change_type,
        subject,
        after,
        change_key
    from changes
)

select * exclude (change_key) from final
order by change_key;
