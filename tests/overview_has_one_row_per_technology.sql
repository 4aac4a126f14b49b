-- The overview has exactly the technologies of dim_technology, once each.
select 'missing' as problem, t.technology_id
from {{ ref "dim_technology" }} t
left join {{ ref "mart_technology_overview" }} o using (technology_id)
where o.technology_id is null
union all
select 'extra', o.technology_id
from {{ ref "mart_technology_overview" }} o
left join {{ ref "dim_technology" }} t using (technology_id)
where t.technology_id is null
