-- Every IgG threshold across LCDs: which LCDs (latest version) put an IgG limit on an indication, and what is it?
-- (Policy sections only; drop the section filter to also see the limits the evidence sections quote.)
with

policy as (
    select * from current_policy
),

final as (
    select
        lcd_id,
        indication,
        coverage,
        comparator,
        value,
        unit,
        contractor,
        sentence
    from policy
    where fact_type = 'threshold'
        and regexp_matches(normalized_measure, '\bigg\b')
        and section = 'policy'
)

select * from final
order by
    lcd_id,
    indication;
