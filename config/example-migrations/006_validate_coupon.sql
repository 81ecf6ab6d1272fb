-- Scans orders with only a SHARE UPDATE EXCLUSIVE lock: reads and writes go on.
ALTER TABLE orders VALIDATE CONSTRAINT orders_coupon_format;
