-- coverage_by_indication: each normalized indication x LCD, with its coverage and the limits on it.
--
-- One row per LCD (latest version) and normalized indication named in its policy sections. Mentions
-- of one indication are merged: a definite coverage wins over 'unclear'; an LCD that calls the same
-- indication both covered and not covered gets 'unclear' (see mention_coverages). The cross-LCD
-- columns show how many LCDs name the indication and whether their coverage disagrees.
create or replace view coverage_by_indication as

with

policy_facts as (
    select * from current_policy
),

-- rename

indication_mentions as (
    select
        lcd_id,
        version,
        title,
        contractor,
        effective_date,
        indication_key,
        indication,
        normalized_indication,
        coverage,
        icd10_codes,
        confidence,
        sentence,
        char_start
    from policy_facts
    where fact_type = 'indication'
        and section = 'policy'
),

limits as (
    select
        indication_key,
        fact_type,
        statement
    from policy_facts
    where fact_type in ('dose', 'threshold')
        and section = 'policy'
        and indication_key is not null
),

-- logic

merged as (
    select
        lcd_id,
        normalized_indication,
        any_value(version) as version,
        any_value(title) as title,
        any_value(contractor) as contractor,
        any_value(effective_date) as effective_date,
        arg_min(indication, coalesce(char_start, 0)) as indication,
        list(distinct coverage order by coverage) as mention_coverages,
        count(*) as mentions,
        max(confidence) as confidence,
        list_sort(list_distinct(flatten(list(icd10_codes)))) as icd10_codes,
        arg_min(sentence, coalesce(char_start, 0)) as sentence
    from indication_mentions
    group by
        lcd_id,
        normalized_indication
),

limits_by_indication as (
    select
        m.lcd_id,
        m.normalized_indication,
        list(distinct l.statement order by l.statement) filter (where l.fact_type = 'threshold') as thresholds,
        list(distinct l.statement order by l.statement) filter (where l.fact_type = 'dose') as doses
    from indication_mentions as m
    join limits as l
        on l.indication_key = m.indication_key
    group by
        m.lcd_id,
        m.normalized_indication
),

with_coverage as (
    select
        *,
        case
            when list_contains(mention_coverages, 'covered')
                and list_contains(mention_coverages, 'not_covered') then 'unclear'
            when list_contains(mention_coverages, 'covered') then 'covered'
            when list_contains(mention_coverages, 'not_covered') then 'not_covered'
            else 'unclear'
        end as coverage
    from merged
),

final as (
    select
        c.normalized_indication,
        c.indication,
        c.lcd_id,
        c.version,
        c.title,
        c.contractor,
        c.effective_date,
        c.coverage,
        c.mention_coverages,
        c.mentions,
        c.confidence,
        c.icd10_codes,
        coalesce(l.thresholds, cast([] as varchar[])) as thresholds,
        coalesce(l.doses, cast([] as varchar[])) as doses,
        count(*) over by_indication as lcds_naming_indication,
        min(c.coverage) over by_indication <> max(c.coverage) over by_indication as coverage_differs_across_lcds,
        c.sentence
    from with_coverage as c
    left join limits_by_indication as l
        on l.lcd_id = c.lcd_id
        and l.normalized_indication = c.normalized_indication
    window by_indication as (partition by c.normalized_indication)
)

select * from final
