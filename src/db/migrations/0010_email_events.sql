-- Histogram functions of event-stream rollups (scripts/gen-migration.ts, from src/timeseries/stream-ddl.ts).

-- Histograms of event-stream rollups: bucket 1 holds values below 1, bucket k >= 2 holds
-- [2^((k-2)/8), 2^((k-1)/8)). Quantiles read back within 2^(1/16) - 1 (4.4 %) of the raw values' nearest-rank quantile.
-- The bodies call built-in functions only: TimescaleDB runs refresh jobs with search_path = pg_catalog, pg_temp.
CREATE FUNCTION opsdeck_hist_add(h bigint[], v double precision) RETURNS bigint[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  k integer := CASE WHEN v < 1 THEN 1 ELSE floor(8 * ln(v) / ln(2::double precision))::integer + 2 END;
  n integer := coalesce(array_length(h, 1), 0);
BEGIN
  IF n < k THEN h := h || array_fill(0::bigint, ARRAY[k - n]); END IF;
  h[k] := h[k] + 1;
  RETURN h;
END $$;

CREATE FUNCTION opsdeck_hist_combine(a bigint[], b bigint[]) RETURNS bigint[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  na integer := coalesce(array_length(a, 1), 0);
  nb integer := coalesce(array_length(b, 1), 0);
BEGIN
  IF nb = 0 THEN RETURN coalesce(a, '{}'); END IF;
  IF na = 0 THEN RETURN b; END IF;
  IF na < nb THEN a := a || array_fill(0::bigint, ARRAY[nb - na]); END IF;
  FOR i IN 1 .. nb LOOP
    a[i] := a[i] + b[i];
  END LOOP;
  RETURN a;
END $$;

CREATE AGGREGATE opsdeck_hist(double precision) (
  SFUNC = opsdeck_hist_add, STYPE = bigint[], INITCOND = '{}', COMBINEFUNC = opsdeck_hist_combine, PARALLEL = SAFE
);

CREATE AGGREGATE opsdeck_hist_merge(bigint[]) (
  SFUNC = opsdeck_hist_combine, STYPE = bigint[], INITCOND = '{}', COMBINEFUNC = opsdeck_hist_combine, PARALLEL = SAFE
);

-- The q-quantile (nearest rank) of a histogram: the geometric middle of the bucket holding rank ceil(q * n);
-- 0 for bucket 1 (values below 1); NULL for an empty histogram.
CREATE FUNCTION opsdeck_hist_quantile(h bigint[], q double precision) RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  total bigint := 0;
  rank bigint;
  seen bigint := 0;
BEGIN
  FOR i IN 1 .. coalesce(array_length(h, 1), 0) LOOP
    total := total + h[i];
  END LOOP;
  IF total = 0 THEN RETURN NULL; END IF;
  rank := greatest(1, ceil(q * total)::bigint);
  FOR i IN 1 .. array_length(h, 1) LOOP
    seen := seen + h[i];
    IF seen >= rank THEN
      IF i = 1 THEN RETURN 0; END IF;
      RETURN power(2::double precision, (i - 2 + 0.5) / 8.0);
    END IF;
  END LOOP;
  RETURN NULL;
END $$;
