-- current_policy: what every LCD says now.
--
-- One row per fact (indication mention, dose, threshold, criterion) of the latest version of each LCD
-- (the highest lcd_versions.version_order), with the LCD's title, contractor and effective date, the
-- indication the fact belongs to and the sentence it was read from. Facts of every section kind are
-- kept; filter `section = 'policy'` for what the LCD decides (evidence sections quote literature).
create or replace view current_policy as

with

versions as (
    select * from lcd_versions
),

indication_rows as (
    select * from indications
),

dose_rows as (
    select * from doses
),

threshold_rows as (
    select * from thresholds
),

criterion_rows as (
    select * from criteria
),

latest_versions as (
    select
        version_key,
        lcd_id,
        version,
        title,
        contractor,
        effective_date
    from versions
    qualify row_number() over (
        partition by lcd_id
        order by version_order desc nulls last, version_key desc
    ) = 1
),

-- rename: every fact type into one shape

indication_facts as (
    select
        'indication' as fact_type,
        indication_key as fact_key,
        version_key,
        indication_key,
        cast(null as varchar) as drug,
        cast(null as varchar) as measure,
        cast(null as varchar) as comparator,
        cast(null as double) as value,
        cast(null as double) as value_high,
        cast(null as varchar) as unit,
        cast(null as varchar) as frequency,
        cast(null as varchar) as phase,
        cast(null as varchar) as polarity,
        cast(null as varchar) as criterion_kind,
        name || ' (' || coverage || ')' as statement,
        section,
        name as fact_text,
        sentence,
        char_start,
        char_end,
        confidence
    from indication_rows
),

dose_facts as (
    select
        'dose' as fact_type,
        dose_key as fact_key,
        version_key,
        indication_key,
        drug,
        cast(null as varchar) as measure,
        cast(null as varchar) as comparator,
        amount_low as value,
        amount_high as value_high,
        unit,
        frequency,
        phase,
        cast(null as varchar) as polarity,
        cast(null as varchar) as criterion_kind,
        concat_ws(
            ' ',
            drug,
            printf('%g', amount_low)
                || case when amount_high <> amount_low then '–' || printf('%g', amount_high) else '' end,
            unit,
            frequency,
            case when phase is not null then '(' || phase || ')' end
        ) as statement,
        section,
        text as fact_text,
        coalesce(sentence, text) as sentence,
        char_start,
        char_end,
        cast(null as double) as confidence
    from dose_rows
),

threshold_facts as (
    select
        'threshold' as fact_type,
        threshold_key as fact_key,
        version_key,
        indication_key,
        cast(null as varchar) as drug,
        measure,
        comparator,
        value,
        value_high,
        unit,
        cast(null as varchar) as frequency,
        cast(null as varchar) as phase,
        polarity,
        cast(null as varchar) as criterion_kind,
        concat_ws(
            ' ',
            measure,
            case
                when comparator = 'between' then printf('%g', value) || '–' || printf('%g', value_high)
                else comparator || ' ' || printf('%g', value)
            end,
            unit,
            case when polarity = 'exclusion' then '(exclusion)' end
        ) as statement,
        section,
        text as fact_text,
        coalesce(sentence, text) as sentence,
        char_start,
        char_end,
        cast(null as double) as confidence
    from threshold_rows
),

criterion_facts as (
    select
        'criterion' as fact_type,
        criterion_key as fact_key,
        version_key,
        indication_key,
        cast(null as varchar) as drug,
        cast(null as varchar) as measure,
        cast(null as varchar) as comparator,
        cast(null as double) as value,
        cast(null as double) as value_high,
        cast(null as varchar) as unit,
        cast(null as varchar) as frequency,
        cast(null as varchar) as phase,
        cast(null as varchar) as polarity,
        kind as criterion_kind,
        text as statement,
        coalesce(section, 'other') as section,
        text as fact_text,
        text as sentence,
        char_start,
        char_end,
        cast(null as double) as confidence
    from criterion_rows
),

-- logic

all_facts as (
    select * from indication_facts
    union all
    select * from dose_facts
    union all
    select * from threshold_facts
    union all
    select * from criterion_facts
),

final as (
    select
        f.fact_type || ':' || f.fact_key as fact_id,
        f.fact_type,
        f.fact_key,
        v.lcd_id,
        v.version,
        v.version_key,
        v.title,
        v.contractor,
        v.effective_date,
        f.indication_key,
        i.name as indication,
        i.normalized_name as normalized_indication,
        i.coverage,
        i.icd10_codes,
        f.drug,
        f.measure,
        nullif(trim(regexp_replace(lower(f.measure), '[\W_]+', ' ', 'g')), '') as normalized_measure,
        f.comparator,
        f.value,
        f.value_high,
        f.unit,
        f.frequency,
        f.phase,
        f.polarity,
        f.criterion_kind,
        f.statement,
        f.section,
        f.fact_text,
        f.sentence,
        f.char_start,
        f.char_end,
        f.confidence
    from all_facts as f
    join latest_versions as v
        on v.version_key = f.version_key
    left join indication_rows as i
        on i.indication_key = f.indication_key
)

select * from final
