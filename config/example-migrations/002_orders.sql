CREATE TABLE orders (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES customers (id),
  total_cents integer NOT NULL CHECK (total_cents >= 0),
  created_at timestamptz NOT NULL DEFAULT now()
);
-- A plain CREATE INDEX is fine here: the table was created just above, it is empty.
CREATE INDEX orders_customer_id ON orders (customer_id);
