-- Which indications do several LCDs (contractors) name, and do they agree on coverage?
with

coverage as (
    select * from coverage_by_indication
),

final as (
    select
        normalized_indication,
        lcd_id,
        contractor,
        coverage,
        coverage_differs_across_lcds,
        thresholds
    from coverage
    where lcds_naming_indication > 1
)

select * from final
order by
    coverage_differs_across_lcds desc,
    normalized_indication,
    lcd_id;
