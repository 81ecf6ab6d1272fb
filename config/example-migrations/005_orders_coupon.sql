-- drawbridge:activates new-checkout
-- The new checkout writes coupon_code; its flag (requires: 005_orders_coupon)
-- is switched on by the run once this commits, never before.
ALTER TABLE orders ADD COLUMN coupon_code text;
ALTER TABLE orders ADD CONSTRAINT orders_coupon_format
  CHECK (coupon_code ~ '^[A-Z0-9]{4,16}$') NOT VALID;
