-- One row per technology, with how many repositories and packages it has.
with repos as (
    select technology_id, count(*) as repositories
    from {{ ref "github_repositories" }}
    group by technology_id
),
packages as (
    select technology_id, count(*) as packages
    from {{ ref "pypi_packages" }}
    group by technology_id
)
select
    t.technology_id,
    t.name,
    t.category,
    coalesce(r.repositories, 0) as repositories,
    coalesce(p.packages, 0) as packages
from {{ ref "stg_technologies" }} t
left join repos r using (technology_id)
left join packages p using (technology_id)
