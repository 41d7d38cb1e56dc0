-- Which contractors' thresholds differ for the same measure?
-- (Latest versions, policy thresholds on the same normalized measure with the same polarity, stated by
-- more than one LCD with more than one limit. Measures match by their words: read the sentence to
-- check that both LCDs mean the same thing.)
with

comparison as (
    select * from threshold_comparison
),

final as (
    select
        normalized_measure as measure,
        polarity,
        threshold_limit,
        coalesce(contractor, '(not stated)') as contractor,
        lcd_id,
        title,
        count(*) as times_stated,
        min(sentence) as sentence
    from comparison
    where limits_differ
    group by
        normalized_measure,
        polarity,
        threshold_limit,
        contractor,
        lcd_id,
        title
)

select * from final
order by
    measure,
    polarity,
    threshold_limit,
    lcd_id;
