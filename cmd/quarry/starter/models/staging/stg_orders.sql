-- One row per order, cleaned: names trimmed and lower case.
select
    order_id,
    lower(trim(customer)) as customer,
    amount,
    ordered_on
from {{ ref "raw_orders" }}
