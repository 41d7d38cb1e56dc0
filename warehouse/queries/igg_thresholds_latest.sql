-- Which LCDs (latest version) put an IgG threshold on an indication, and what is it?
with latest as (
    select *
    from lcd_versions
    qualify version_order = max(version_order) over (partition by lcd_id)
)
select
    latest.lcd_id,
    i.name as indication,
    i.coverage,
    t.comparator,
    t.value,
    t.unit
from thresholds as t
join latest using (version_key)
join indications as i using (indication_key)
where t.measure ilike '%igg%'
    and t.section = 'policy';
