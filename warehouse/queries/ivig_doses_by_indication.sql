-- What IVIG doses does the current off-label IVIG policy give, by indication (in document order)?
with

policy as (
    select * from current_policy
),

final as (
    select
        indication,
        value as low,
        value_high as high,
        unit,
        frequency,
        phase,
        char_start
    from policy
    where lcd_id = 'IVIG-OFFLABEL'
        and fact_type = 'dose'
        and section = 'policy'
)

select * exclude (char_start) from final
order by char_start;
