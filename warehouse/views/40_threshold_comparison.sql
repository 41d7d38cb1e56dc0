-- threshold_comparison: the same measure across LCDs and contractors, side by side.
--
-- One row per policy threshold of the latest version of each LCD, with how many LCDs and contractors
-- state a limit on the same normalized measure (and polarity) and whether their limits differ.
-- Measures are the words the extractor found next to the number ("IgG", "age", "supplier dispense"),
-- lower-cased with punctuation collapsed; two LCDs match when they name the measure the same way.
create or replace view threshold_comparison as

with

policy_facts as (
    select * from current_policy
),

-- rename

policy_thresholds as (
    select
        fact_key as threshold_key,
        normalized_measure,
        measure,
        polarity,
        lcd_id,
        version,
        title,
        contractor,
        effective_date,
        indication,
        normalized_indication,
        coverage,
        comparator,
        value,
        value_high,
        unit,
        concat_ws(
            ' ',
            case
                when comparator = 'between' then printf('%g', value) || '–' || printf('%g', value_high)
                else comparator || ' ' || printf('%g', value)
            end,
            unit
        ) as threshold_limit,
        statement,
        sentence
    from policy_facts
    where fact_type = 'threshold'
        and section = 'policy'
),

-- logic

measure_groups as (
    select
        normalized_measure,
        polarity,
        count(distinct lcd_id) as lcds_with_measure,
        count(distinct contractor) as contractors_with_measure,
        count(distinct threshold_limit) as distinct_limits
    from policy_thresholds
    group by
        normalized_measure,
        polarity
),

final as (
    select
        t.threshold_key,
        t.normalized_measure,
        t.measure,
        t.polarity,
        t.lcd_id,
        t.version,
        t.title,
        t.contractor,
        t.effective_date,
        t.indication,
        t.normalized_indication,
        t.coverage,
        t.comparator,
        t.value,
        t.value_high,
        t.unit,
        t.threshold_limit,
        t.statement,
        g.lcds_with_measure,
        g.contractors_with_measure,
        g.distinct_limits,
        g.lcds_with_measure > 1 and g.distinct_limits > 1 as limits_differ,
        t.sentence
    from policy_thresholds as t
    join measure_groups as g
        on g.normalized_measure = t.normalized_measure
        and g.polarity = t.polarity
)

select * from final
