-- The sample shop's customers.
CREATE TABLE customers (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email text NOT NULL,
  name text,
  note text,
  created_at timestamptz NOT NULL DEFAULT now()
);
