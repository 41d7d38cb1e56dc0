-- What doses do the current policies state, by drug and indication?
-- (Latest version of each LCD, policy sections; a dose whose sentence names no drug or no indication
-- is listed under '(drug not named)' / '(policy-wide)'.)
with

policy as (
    select * from current_policy
),

final as (
    select
        lcd_id,
        coalesce(drug, '(drug not named)') as drug,
        coalesce(indication, '(policy-wide)') as indication,
        value as amount_low,
        value_high as amount_high,
        unit,
        frequency,
        phase,
        fact_text as as_written,
        char_start
    from policy
    where fact_type = 'dose'
        and section = 'policy'
)

select * exclude (char_start) from final
order by
    lcd_id,
    drug,
    indication,
    char_start;
