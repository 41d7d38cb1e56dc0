-- change_log: every detected policy change, readable on its own.
--
-- One row per policy_changes row, with the LCD's title and contractor (from the newer version), the
-- versions and effective dates it lies between, what changed (before -> after) and the sentences that
-- say so. `change_date` is the newer version's effective date, or the detection day when the document
-- gives no date: use it for "what changed in the last N days".
create or replace view change_log as

with

changes as (
    select * from policy_changes
),

versions as (
    select * from lcd_versions
),

-- rename

renamed as (
    select
        change_key,
        lcd_id,
        from_version_key,
        to_version_key,
        change_type,
        case
            when change_type = 'coverage_changed' then 'indication'
            else split_part(change_type, '_', 1)
        end as fact_type,
        case
            when ends_with(change_type, '_added') then 'added'
            when ends_with(change_type, '_removed') then 'removed'
            else 'changed'
        end as action,
        subject,
        indication as normalized_indication,
        section as section_name,
        before,
        after,
        before_sentence,
        after_sentence,
        parent_change_key,
        detected_at
    from changes
),

-- logic

final as (
    select
        c.change_key,
        c.lcd_id,
        newer.title,
        newer.contractor,
        c.from_version_key,
        older.version as from_version,
        older.effective_date as from_effective_date,
        c.to_version_key,
        newer.version as to_version,
        newer.effective_date as to_effective_date,
        newer.version_order as to_version_order,
        c.detected_at,
        coalesce(newer.effective_date, cast(c.detected_at as date)) as change_date,
        c.change_type,
        c.fact_type,
        c.action,
        c.subject,
        c.normalized_indication,
        c.section_name,
        c.before,
        c.after,
        c.before_sentence,
        c.after_sentence,
        c.parent_change_key
    from renamed as c
    join versions as newer
        on newer.version_key = c.to_version_key
    left join versions as older
        on older.version_key = c.from_version_key
)

select * from final
