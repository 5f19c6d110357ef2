CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  NEW.updated_at := now(); -- ; inside
  RETURN NEW;
END
$fn$;
DO $$ BEGIN RAISE NOTICE 'é ü 中文'; END $$;
