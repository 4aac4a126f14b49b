-- One row per technology, ids and names trimmed.
select
    trim(technology_id) as technology_id,
    trim(name) as name,
    lower(trim(category)) as category
from {{ ref "technologies" }}
