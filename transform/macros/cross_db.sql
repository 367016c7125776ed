{#- SQL that DuckDB and PostgreSQL spell differently, through adapter.dispatch. -#}

{#- Epoch milliseconds (as the API sends times) to a UTC timestamp without time zone. -#}
{% macro ms_to_timestamp(ms) %}
  {{- return(adapter.dispatch('ms_to_timestamp')(ms)) -}}
{% endmacro %}

{% macro default__ms_to_timestamp(ms) -%}
  (to_timestamp({{ ms }} / 1000.0) at time zone 'UTC')
{%- endmacro %}

{% macro duckdb__ms_to_timestamp(ms) -%}
  epoch_ms(cast({{ ms }} as bigint))
{%- endmacro %}


{#- The current time in epoch milliseconds (for ages, and the trend's windows). -#}
{% macro now_ms() %}
  {{- return(adapter.dispatch('now_ms')()) -}}
{% endmacro %}

{% macro default__now_ms() -%}
  cast(extract(epoch from current_timestamp) * 1000 as bigint)
{%- endmacro %}

{% macro duckdb__now_ms() -%}
  epoch_ms(current_timestamp)
{%- endmacro %}


{#- The continuous percentile `fraction` of `expression` (an aggregate; nulls ignored). -#}
{% macro percentile(expression, fraction) %}
  {{- return(adapter.dispatch('percentile')(expression, fraction)) -}}
{% endmacro %}

{% macro default__percentile(expression, fraction) -%}
  percentile_cont({{ fraction }}) within group (order by {{ expression }})
{%- endmacro %}

{% macro duckdb__percentile(expression, fraction) -%}
  quantile_cont({{ expression }}, {{ fraction }})
{%- endmacro %}
