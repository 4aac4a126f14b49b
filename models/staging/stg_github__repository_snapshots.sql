-- One row per repository per UTC day: the day's latest load. Loads are
-- additive, so a day can land several times; items whose extraction failed
-- in a load are left out of it.
--
-- A change-only load (extractors.github.change_only, on by default) stores
-- a repository's row only when it changed and records in _load_keys_seen
-- that it saw the repository, pointing at the landed row holding its value:
-- each seen entry is a snapshot taken when the load saw it. Rows of loads
-- that recorded no entries (before change-only, or with it off) are
-- snapshots of their own load.
with snapshots as (
    select
        r.*,
        s._load_id as seen_load_id,
        s._loaded_at as seen_at,
        s._source as seen_source
    from {{ source "quarry" "_load_keys_seen" }} s
    join {{ source "github" "github_repositories" }} r
      on r._load_id = s.row_load_id
     and r.repo_full_name = s.key
    where s.landing_table = 'github_repositories'
    union all
    select
        r.*,
        r._load_id as seen_load_id,
        r._loaded_at as seen_at,
        r._source as seen_source
    from {{ source "github" "github_repositories" }} r
    where not exists (
        select 1
        from {{ source "quarry" "_load_keys_seen" }} s
        where s.landing_table = 'github_repositories'
          and s._load_id = r._load_id
          and s.key = r.repo_full_name
    )
),
landed as (
    select
        r.*,
        cast(r.seen_at as date) as snapshot_date,
        row_number() over (
            partition by lower(r.repo_full_name), cast(r.seen_at as date)
            order by r.seen_at desc, r.seen_load_id desc
        ) as rank_in_day
    from snapshots r
    where not exists (
        select 1
        from {{ source "quarry" "_extract_errors" }} e
        where e._load_id = r.seen_load_id
          and e.extractor = 'github'
          and lower(e.item) = lower(r.repo_full_name)
    )
)
select
    technology_id,
    repo_full_name,
    snapshot_date,
    seen_at as snapshot_at,
    seen_load_id as load_id,
    seen_source as source,
    github_id,
    stars,
    forks,
    watchers,
    open_issues_and_prs,
    open_pull_requests,
    contributors,
    latest_release_tag,
    latest_release_published_at,
    commits_last_4_weeks,
    commits_last_52_weeks,
    created_at,
    pushed_at,
    default_branch,
    language,
    license,
    topics,
    archived,
    size_kb,
    description
from landed
where rank_in_day = 1
