-- One row per package per day of downloads.
select
    technology_id,
    package,
    download_date,
    downloads,
    source
from {{ ref "stg_pypi__downloads_daily" }}
