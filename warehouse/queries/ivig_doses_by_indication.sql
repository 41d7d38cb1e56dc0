-- IVIG doses by indication in the current off-label policy
select
    i.name as indication,
    d.amount_low as low,
    d.amount_high as high,
    d.unit,
    d.frequency,
    d.phase
from doses as d
join lcd_versions as v using (version_key)
left join indications as i using (indication_key)
where v.lcd_id = 'IVIG-OFFLABEL'
    and v.version = '2'
    and d.section = 'policy'
order by d.char_start;
