-- Every technology needs at least one GitHub repository and one PyPI
-- package in the seeds, or its overview row would be mostly empty.
select technology_id, repositories, packages
from {{ ref "dim_technology" }}
where repositories = 0 or packages = 0
