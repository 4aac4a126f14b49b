-- A statement mixing most of what lineage reads: CTEs over CTEs, USING,
-- aggregates, a window, CASE, a scalar subquery, a union.
with paid as (
    select * exclude (status)
    from orders
    where status = 'paid'
),
money as (
    select id, customer_id, amount from paid
    union all
    select id, customer_id, -amount from refunds
),
per_customer as (
    select customer_id, sum(amount) as net, count(*) as movements
    from money
    group by customer_id
)
select
    c.customer_id,
    c.name as customer,
    net,
    movements,
    case when net > 100 then 'big' else region end as segment,
    rank() over (partition by region order by net desc) as rank_in_region,
    (select max(ordered_at) from orders o where o.customer_id = c.customer_id) as last_order
from customers c
join per_customer using (customer_id)
