-- One row per repository per UTC day: the day's latest load. Loads are
-- additive, so a day can land several times; items whose extraction failed
-- in a load are left out of it.
with landed as (
    select
        r.*,
        cast(r._loaded_at as date) as snapshot_date,
        row_number() over (
            partition by lower(r.repo_full_name), cast(r._loaded_at as date)
            order by r._loaded_at desc, r._load_id desc
        ) as rank_in_day
    from {{ source "github" "github_repositories" }} r
    where not exists (
        select 1
        from {{ source "quarry" "_extract_errors" }} e
        where e._load_id = r._load_id
          and e.extractor = 'github'
          and lower(e.item) = lower(r.repo_full_name)
    )
)
select
    technology_id,
    repo_full_name,
    snapshot_date,
    _loaded_at as snapshot_at,
    _load_id as load_id,
    _source as source,
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
