-- Which extracted facts should a person review first?
-- Indications in the current policies whose coverage the extractor is least sure of: labelled
-- 'unclear', or with a confidence below 0.7 (a single weak cue), lowest confidence first.
with

policy as (
    select * from current_policy
),

final as (
    select
        confidence,
        lcd_id,
        indication,
        coverage,
        case
            when coverage = 'unclear' then 'coverage unclear'
            else 'weak coverage cue'
        end as review_reason,
        sentence,
        char_start
    from policy
    where fact_type = 'indication'
        and section = 'policy'
        and (coverage = 'unclear' or confidence < 0.7)
)

select * exclude (char_start) from final
order by
    confidence,
    lcd_id,
    char_start;
