-- downloads_last_30_days is the sum of the daily fact over the same window.
with through as (
    select max(download_date) as through_date from {{ ref "fct_pypi_downloads_daily" }}
),
daily as (
    select f.technology_id, sum(f.downloads) as downloads
    from {{ ref "fct_pypi_downloads_daily" }} f
    cross join through t
    where f.download_date > {{ dateadd "day" -30 "t.through_date" }}
    group by f.technology_id
)
select o.technology_id, o.downloads_last_30_days, d.downloads
from {{ ref "mart_technology_overview" }} o
full outer join daily d using (technology_id)
where coalesce(o.downloads_last_30_days, -1) <> coalesce(d.downloads, -1)
