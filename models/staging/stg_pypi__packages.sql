-- One row per package: its latest metadata load.
with landed as (
    select
        p.*,
        row_number() over (partition by lower(p.package) order by p._loaded_at desc, p._load_id desc) as rank_latest
    from {{ source "pypi" "pypi_packages" }} p
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
    _source as source,
    _loaded_at as loaded_at
from landed
where rank_latest = 1
