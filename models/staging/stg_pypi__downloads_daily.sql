-- One row per package per UTC day: the latest value landed for that day
-- (overlapping loads can land the same day twice).
with landed as (
    select
        d.*,
        row_number() over (
            partition by lower(d.package), d.download_date
            order by d._loaded_at desc, d._load_id desc
        ) as rank_in_day
    from {{ source "pypi" "pypi_downloads_daily" }} d
    where not exists (
        select 1
        from {{ source "quarry" "_extract_errors" }} e
        where e._load_id = d._load_id
          and e.extractor = 'pypi'
          and lower(e.item) = lower(d.package)
    )
)
select
    technology_id,
    lower(package) as package,
    download_date,
    downloads,
    _source as source,
    _loaded_at as loaded_at
from landed
where rank_in_day = 1
