-- Which indications are newly not covered: their coverage changed to not_covered, or a new version
-- added them as not covered?
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
        subject as indication,
        coalesce(before, '(not named before)') as coverage_before,
        after as coverage_after,
        before_sentence,
        after_sentence
    from changes
    where fact_type = 'indication'
        and action in ('added', 'changed')
        and after = 'not_covered'
)

select * from final
order by
    change_date desc,
    lcd_id,
    indication;
