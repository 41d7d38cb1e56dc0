-- Which LCDs cover a condition, and under which thresholds and at what doses?
-- (Latest version of each LCD, policy sections. To ask about another condition, edit the pattern in
-- `condition`: it is matched against the normalized indication name, lower case, punctuation as spaces.)
with

condition as (
    select '%graft versus host%' as name_pattern
),

coverage as (
    select * from coverage_by_indication
),

final as (
    select
        coverage.lcd_id,
        coverage.contractor,
        coverage.indication,
        coverage.coverage,
        coverage.thresholds,
        coverage.doses
    from coverage
    join condition
        on coverage.normalized_indication like condition.name_pattern
    where coverage.coverage = 'covered'
)

select * from final
order by
    lcd_id,
    indication;
