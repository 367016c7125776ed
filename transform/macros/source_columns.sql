{#-
  select_source(table_name, columns, required): the columns of a loaded table, each cast to the
  type the models expect, so DuckDB (HUGEINT, JSON) and PostgreSQL (NUMERIC, JSONB, arrays) give
  the models the same types.

  `columns` maps a column name to a logical type: bigint, double, string, boolean or json (JSON
  text). A column the table lacks is selected as a typed null (a field the stream never sent).
  A table that does not exist is an error when `required`; otherwise (the operations-data
  streams, which may not be loaded yet) the select is typed and empty, so every model downstream
  still builds. dbt has no built-in for "this source may be missing", hence adapter.get_relation.
-#}
{% macro select_source(table_name, columns, required=true) %}
  {%- set src = source('dlf', table_name) -%}
  {%- set present = {} -%}
  {%- set relation = none -%}
  {%- if execute -%}
    {%- set relation = adapter.get_relation(database=src.database, schema=src.schema, identifier=src.identifier) -%}
    {%- if relation is none and required -%}
      {{ exceptions.raise_compiler_error("Table " ~ src ~ " does not exist: load it first (meltano run tap-dlf-instances <loader>).") }}
    {%- endif -%}
    {%- if relation is not none -%}
      {%- for column in adapter.get_columns_in_relation(relation) -%}
        {%- do present.update({column.name | lower: column}) -%}
      {%- endfor -%}
    {%- endif -%}
  {%- endif %}
  select
  {%- for name, kind in columns.items() %}
    {% if name in present -%}
      {{ cast_as(adapter.quote(name), kind, present[name]) }}
    {%- else -%}
      cast(null as {{ sql_type(kind) }})
    {%- endif %} as {{ name }}{{ "," if not loop.last }}
  {%- endfor %}
  {% if relation is not none -%}
  from {{ src }}
  {%- else -%}
  where 1 = 0
  {%- endif %}
{% endmacro %}


{#- The SQL type of a logical type; dbt's cross-database type macros where they fit. -#}
{% macro sql_type(kind) %}
  {%- if kind == 'bigint' -%}{{ dbt.type_bigint() }}
  {%- elif kind == 'double' -%}double precision
  {%- elif kind == 'boolean' -%}{{ dbt.type_boolean() }}
  {%- elif kind in ('string', 'json') -%}{{ dbt.type_string() }}
  {%- else -%}{{ exceptions.raise_compiler_error("select_source: unknown column type " ~ kind) }}
  {%- endif -%}
{% endmacro %}


{% macro cast_as(expression, kind, column) %}
  {%- if kind == 'json' -%}{{ json_text(expression, column) }}
  {%- else -%}cast({{ expression }} as {{ sql_type(kind) }})
  {%- endif -%}
{% endmacro %}


{#- An array or object column as JSON text. target-duckdb stores them as JSON; target-postgres
    as JSONB, or as a PostgreSQL array (whose text form `{a,b}` is not JSON). -#}
{% macro json_text(expression, column) %}
  {{- return(adapter.dispatch('json_text')(expression, column)) -}}
{% endmacro %}

{% macro default__json_text(expression, column) -%}
  cast({{ expression }} as {{ dbt.type_string() }})
{%- endmacro %}

{% macro postgres__json_text(expression, column) -%}
  {%- if column.dtype | upper == 'ARRAY' or column.dtype.endswith('[]') -%}
    cast(array_to_json({{ expression }}) as text)
  {%- else -%}
    cast({{ expression }} as text)
  {%- endif -%}
{%- endmacro %}
