-- Which LCDs changed their policy the most (over all loaded versions)?
with

timeline as (
    select * from policy_timeline
),

per_lcd as (
    select
        lcd_id,
        max(title) filter (where is_latest) as title,
        max(contractor) filter (where is_latest) as contractor,
        count(*) as versions,
        max(version) filter (where is_latest) as latest_version,
        sum(changes) as changes,
        sum(indications_added + indications_removed + coverage_changed) as indication_changes,
        sum(doses_added + doses_removed + doses_changed) as dose_changes,
        sum(thresholds_added + thresholds_removed + thresholds_changed) as threshold_changes,
        sum(criteria_added + criteria_removed) as criterion_changes
    from timeline
    group by lcd_id
),

final as (
    select * from per_lcd
    where changes > 0
)

select * from final
order by
    changes desc,
    lcd_id;
