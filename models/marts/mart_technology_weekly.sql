-- One row per technology per ISO week (weeks start on Monday): downloads in
-- the week, and stars and forks at the week's last snapshot, for trends.
with weekly_downloads as (
    select
        technology_id,
        date_trunc('week', download_date) as week_start,
        sum(downloads) as downloads,
        count(distinct download_date) as days_with_downloads
    from {{ ref "fct_pypi_downloads_daily" }}
    group by 1, 2
),
last_in_week as (
    select *
    from (
        select
            s.*,
            date_trunc('week', snapshot_date) as week_start,
            row_number() over (
                partition by lower(repo_full_name), date_trunc('week', snapshot_date)
                order by snapshot_date desc
            ) as rank_in_week
        from {{ ref "fct_github_repository_snapshots" }} s
    ) ranked
    where rank_in_week = 1
),
weekly_github as (
    select technology_id, week_start, sum(stars) as stars, sum(forks) as forks
    from last_in_week
    group by 1, 2
)
select
    coalesce(d.technology_id, g.technology_id) as technology_id,
    cast(coalesce(d.week_start, g.week_start) as date) as week_start,
    d.downloads,
    d.days_with_downloads,
    g.stars,
    g.forks
from weekly_downloads d
full outer join weekly_github g
    on g.technology_id = d.technology_id and g.week_start = d.week_start
