-- policy_timeline: every version of every LCD, oldest first, with what it states as policy and how
-- many policy changes it brought compared with the version before it (by change type).
--
-- One row per version. The first version of an LCD has no previous version and zero changes.
create or replace view policy_timeline as

with

versions as (
    select * from lcd_versions
),

changes as (
    select * from policy_changes
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

-- rename

ordered_versions as (
    select
        lcd_id,
        version_key,
        version,
        version_order,
        title,
        contractor,
        effective_date,
        source_path,
        source_format,
        ingested_at,
        lag(version_key) over by_lcd as previous_version_key,
        lag(version) over by_lcd as previous_version,
        lead(version_key) over by_lcd is null as is_latest
    from versions
    window by_lcd as (
        partition by lcd_id
        order by version_order nulls last, version_key
    )
),

policy_facts as (
    select
        version_key,
        'indication' as fact_type
    from indication_rows
    where section = 'policy'
    union all
    select
        version_key,
        'dose' as fact_type
    from dose_rows
    where section = 'policy'
    union all
    select
        version_key,
        'threshold' as fact_type
    from threshold_rows
    where section = 'policy'
    union all
    select
        version_key,
        'criterion' as fact_type
    from criterion_rows
    where section = 'policy'
),

-- logic: policy fact counts and change counts per version

policy_fact_counts as (
    select
        version_key,
        count(*) filter (where fact_type = 'indication') as policy_indications,
        count(*) filter (where fact_type = 'dose') as policy_doses,
        count(*) filter (where fact_type = 'threshold') as policy_thresholds,
        count(*) filter (where fact_type = 'criterion') as policy_criteria
    from policy_facts
    group by version_key
),

change_counts as (
    select
        to_version_key as version_key,
        count(*) as changes,
        count(*) filter (where change_type = 'indication_added') as indications_added,
        count(*) filter (where change_type = 'indication_removed') as indications_removed,
        count(*) filter (where change_type = 'coverage_changed') as coverage_changed,
        count(*) filter (where change_type = 'dose_added') as doses_added,
        count(*) filter (where change_type = 'dose_removed') as doses_removed,
        count(*) filter (where change_type = 'dose_changed') as doses_changed,
        count(*) filter (where change_type = 'threshold_added') as thresholds_added,
        count(*) filter (where change_type = 'threshold_removed') as thresholds_removed,
        count(*) filter (where change_type = 'threshold_changed') as thresholds_changed,
        count(*) filter (where change_type = 'criterion_added') as criteria_added,
        count(*) filter (where change_type = 'criterion_removed') as criteria_removed
    from changes
    group by to_version_key
),

final as (
    select
        v.lcd_id,
        v.version_key,
        v.version,
        v.version_order,
        v.is_latest,
        v.title,
        v.contractor,
        v.effective_date,
        v.previous_version_key,
        v.previous_version,
        v.source_path,
        v.source_format,
        v.ingested_at,
        coalesce(f.policy_indications, 0) as policy_indications,
        coalesce(f.policy_doses, 0) as policy_doses,
        coalesce(f.policy_thresholds, 0) as policy_thresholds,
        coalesce(f.policy_criteria, 0) as policy_criteria,
        coalesce(c.changes, 0) as changes,
        coalesce(c.indications_added, 0) as indications_added,
        coalesce(c.indications_removed, 0) as indications_removed,
        coalesce(c.coverage_changed, 0) as coverage_changed,
        coalesce(c.doses_added, 0) as doses_added,
        coalesce(c.doses_removed, 0) as doses_removed,
        coalesce(c.doses_changed, 0) as doses_changed,
        coalesce(c.thresholds_added, 0) as thresholds_added,
        coalesce(c.thresholds_removed, 0) as thresholds_removed,
        coalesce(c.thresholds_changed, 0) as thresholds_changed,
        coalesce(c.criteria_added, 0) as criteria_added,
        coalesce(c.criteria_removed, 0) as criteria_removed
    from ordered_versions as v
    left join policy_fact_counts as f
        on f.version_key = v.version_key
    left join change_counts as c
        on c.version_key = v.version_key
)

select * from final
