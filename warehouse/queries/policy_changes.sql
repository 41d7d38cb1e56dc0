-- What changed between versions?
select
    c.lcd_id,
    f.version as from_v,
    t.version as to_v,
    c.change_type,
    c.subject,
    c.after
from policy_changes as c
join lcd_versions as f on f.version_key = c.from_version_key
join lcd_versions as t on t.version_key = c.to_version_key
order by c.change_key;
