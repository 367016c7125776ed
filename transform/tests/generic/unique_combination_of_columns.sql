{#- A composite key is unique: no combination of `combination_of_columns` occurs twice. Written
    here because dbt_utils (which has this test) comes from hub.getdbt.com, not PyPI, and the
    machines reach only PyPI. Rows with a null key part are grouped too; not_null tests on each
    key column catch those. -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
  {%- set key = combination_of_columns | join(', ') %}
  select {{ key }}, count(*) as rows_with_this_key
  from {{ model }}
  group by {{ key }}
  having count(*) > 1
{% endtest %}
