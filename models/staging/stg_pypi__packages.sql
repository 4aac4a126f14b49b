-- One row per package: its latest metadata load.
--
-- With extractors.pypi.change_only listing pypi_packages, a load stores a
-- package's row only when it changed and records in _load_keys_seen that
-- it saw the package, pointing at the landed row holding its value; rows
-- of loads that recorded no entries are snapshots of their own load.
with snapshots as (
    select
        p.*,
        s._load_id as seen_load_id,
        s._loaded_at as seen_at,
        s._source as seen_source
    from {{ source "quarry" "_load_keys_seen" }} s
    join {{ source "pypi" "pypi_packages" }} p
      on p._load_id = s.row_load_id
     and p.package = s.key
    where s.landing_table = 'pypi_packages'
    union all
    select
        p.*,
        p._load_id as seen_load_id,
        p._loaded_at as seen_at,
        p._source as seen_source
    from {{ source "pypi" "pypi_packages" }} p
    where not exists (
        select 1
        from {{ source "quarry" "_load_keys_seen" }} s
        where s.landing_table = 'pypi_packages'
          and s._load_id = p._load_id
          and s.key = p.package
    )
),
landed as (
    select
        p.*,
        row_number() over (partition by lower(p.package) order by p.seen_at desc, p.seen_load_id desc) as rank_latest
    from snapshots p
)
select
    technology_id,
    lower(package) as package,
    latest_version,
    latest_version_uploaded_at,
    requires_python,
    license,
    summary,
    releases,
    seen_source as source,
    seen_at as loaded_at
from landed
where rank_latest = 1
