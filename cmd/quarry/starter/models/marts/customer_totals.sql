-- One row per customer: how many orders, how much in all, the first and
-- last order day.
select
    customer,
    count(*) as orders,
    sum(amount) as total_amount,
    min(ordered_on) as first_order_on,
    max(ordered_on) as last_order_on
from {{ ref "stg_orders" }}
group by customer
