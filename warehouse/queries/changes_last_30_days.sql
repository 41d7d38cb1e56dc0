-- What changed in the last 30 days?
-- (change_date is the new version's effective date, or the day the change was detected when the
-- document gives no date. Change `interval 30 day` for another window.)
with

changes as (
    select * from change_log
),

final as (
    select
        change_date,
        lcd_id,
        title,
        contractor,
        from_version,
        to_version,
        change_type,
        subject,
        before,
        after,
        after_sentence,
        change_key
    from changes
    where change_date >= current_date - interval 30 day
)

select * exclude (change_key) from final
order by
    change_date desc,
    lcd_id,
    change_key;
