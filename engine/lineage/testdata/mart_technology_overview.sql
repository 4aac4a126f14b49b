-- Exactly one row per technology with its latest metrics. Windows end at
-- the latest complete day landed, not at "now", so rebuilding old data
-- gives the same answer.
with latest_snapshot as (
    -- each repository's newest snapshot
    select *
    from (
        select
            s.*,
            row_number() over (partition by lower(repo_full_name) order by snapshot_date desc) as rank_latest
        from public.fct_github_repository_snapshots s
    ) ranked
    where rank_latest = 1
),
latest_release as (
    -- the technology's most recently published release, across its repositories
    select technology_id, latest_release_tag, latest_release_published_at
    from (
        select
            technology_id,
            latest_release_tag,
            latest_release_published_at,
            row_number() over (
                partition by technology_id
                order by latest_release_published_at desc nulls last, repo_full_name
            ) as rank_latest
        from latest_snapshot
        where latest_release_published_at is not null
    ) ranked
    where rank_latest = 1
),
github as (
    select
        technology_id,
        sum(stars) as stars,
        sum(forks) as forks,
        sum(watchers) as watchers,
        sum(open_issues) as open_issues,
        sum(open_pull_requests) as open_pull_requests,
        sum(contributors) as contributors,
        sum(commits_last_4_weeks) as commits_last_4_weeks,
        sum(commits_last_52_weeks) as commits_last_52_weeks,
        max(pushed_at) as last_pushed_at,
        max(snapshot_at) as github_snapshot_at
    from latest_snapshot
    group by technology_id
),
through as (
    select max(download_date) as through_date
    from public.fct_pypi_downloads_daily
),
downloads as (
    select
        d.technology_id,
        sum(case when d.download_date > cast(date_add(t.through_date, to_days(cast(-7 as integer))) as date) then d.downloads end) as downloads_last_7_days,
        sum(case when d.download_date > cast(date_add(t.through_date, to_days(cast(-30 as integer))) as date) then d.downloads end) as downloads_last_30_days,
        sum(case when d.download_date <= cast(date_add(t.through_date, to_days(cast(-30 as integer))) as date)
                  and d.download_date > cast(date_add(t.through_date, to_days(cast(-60 as integer))) as date) then d.downloads end) as downloads_prev_30_days,
        max(t.through_date) as downloads_through_date
    from public.fct_pypi_downloads_daily d
    cross join through t
    group by d.technology_id
)
select
    t.technology_id,
    t.name,
    t.category,
    g.stars,
    g.forks,
    g.watchers,
    g.open_issues,
    g.open_pull_requests,
    g.contributors,
    g.commits_last_4_weeks,
    g.commits_last_52_weeks,
    r.latest_release_tag,
    r.latest_release_published_at,
    date_diff('day', g.last_pushed_at, g.github_snapshot_at) as days_since_last_push,
    d.downloads_last_7_days,
    d.downloads_last_30_days,
    d.downloads_prev_30_days,
    case
        when d.downloads_prev_30_days > 0
        then round(100.0 * (d.downloads_last_30_days - d.downloads_prev_30_days) / d.downloads_prev_30_days, 1)
    end as downloads_growth_30d_pct,
    rank() over (order by g.stars desc nulls last) as stars_rank,
    rank() over (order by d.downloads_last_30_days desc nulls last) as downloads_rank,
    g.github_snapshot_at,
    d.downloads_through_date
from public.dim_technology t
left join github g on g.technology_id = t.technology_id
left join latest_release r on r.technology_id = t.technology_id
left join downloads d on d.technology_id = t.technology_id
