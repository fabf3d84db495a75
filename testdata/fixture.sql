-- A small database that exercises what a dump must carry: utf8mb4 text,
-- binary data with every byte value, NULLs, large rows, decimals, JSON,
-- foreign keys, an empty table, awkward table names, a view, a trigger,
-- a procedure, a function and an event.

CREATE TABLE users (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  email VARCHAR(191) NOT NULL UNIQUE,
  name VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL,
  balance DECIMAL(20,6) NOT NULL DEFAULT 0,
  profile JSON NULL,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE orders (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id INT UNSIGNED NOT NULL,
  total DECIMAL(12,2) NOT NULL,
  note TEXT NULL,
  CONSTRAINT fk_orders_user FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE blobs (
  id INT NOT NULL PRIMARY KEY,
  data LONGBLOB NULL,
  bits BIT(8) NULL,
  fixed BINARY(16) NULL
) ENGINE=InnoDB;

CREATE TABLE `empty table` (
  id INT NOT NULL PRIMARY KEY
) ENGINE=InnoDB;

CREATE TABLE `we;ird``name` (
  `semi;colon` VARCHAR(50) NULL,
  `quote'd` VARCHAR(50) NULL,
  `select` INT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE audit (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  message VARCHAR(255) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

INSERT INTO users (email, name, balance, profile, created_at) VALUES
  ('ada@example.com', 'Ada Lovelace 🧮', 1234.567890, '{"langs": ["en", "fr"], "admin": true}', '2026-01-02 03:04:05.123456'),
  ('zoe@example.com', 'Zoë “quotes” O''Brien \\ backslash', -0.000001, NULL, '2026-02-03 04:05:06.000001'),
  ('emoji@example.com', '👩‍💻🚀 ñ ü 中文 العربية', 99999999999999.999999, '{"nested": {"a": [1, 2, {"b": null}]}}', '2026-03-04 05:06:07'),
  ('null@example.com', NULL, 0, NULL, '2026-04-05 06:07:08'),
  ('semi@example.com', 'a;b;c\n-- not a comment\n/* nor this */ DELIMITER $$', 1, '{"sql": "DROP TABLE x; --"}', '2026-05-06 07:08:09');

INSERT INTO orders (user_id, total, note) VALUES
  (1, 10.50, 'first'), (1, 0.01, NULL), (2, 123456.78, 'tab\there'), (3, 5.00, REPEAT('long note ', 500));

-- Every byte value, a large row, and NULL.
INSERT INTO blobs VALUES
  (1, UNHEX(CONCAT(
    '000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F',
    '202122232425262728292A2B2C2D2E2F303132333435363738393A3B3C3D3E3F',
    '404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F',
    '606162636465666768696A6B6C6D6E6F707172737475767778797A7B7C7D7E7F',
    '808182838485868788898A8B8C8D8E8F909192939495969798999A9B9C9D9E9F',
    'A0A1A2A3A4A5A6A7A8A9AAABACADAEAFB0B1B2B3B4B5B6B7B8B9BABBBCBDBEBF',
    'C0C1C2C3C4C5C6C7C8C9CACBCCCDCECFD0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF',
    'E0E1E2E3E4E5E6E7E8E9EAEBECEDEEEFF0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF')), b'10100101', UNHEX('00FF00FF00FF00FF00FF00FF00FF00FF')),
  (2, REPEAT(UNHEX('00275C220D0A1A3B'), 300000), b'00000000', NULL),
  (3, NULL, NULL, NULL),
  (4, '', b'11111111', UNHEX('5C5C5C5C272727273B3B3B3B0A0A0A0A'));

INSERT INTO `we;ird``name` VALUES ('x;y', 'it''s', 1), (NULL, '\'; DROP TABLE users; --', 2);

CREATE VIEW user_totals AS
  SELECT u.id, u.email, COALESCE(SUM(o.total), 0) AS total
  FROM users u LEFT JOIN orders o ON o.user_id = u.id
  GROUP BY u.id, u.email;

DELIMITER $$
CREATE TRIGGER orders_audit AFTER INSERT ON orders FOR EACH ROW
BEGIN
  INSERT INTO audit (message) VALUES (CONCAT('order ', NEW.id, '; total ', NEW.total));
END$$

CREATE PROCEDURE add_order(IN p_user INT, IN p_total DECIMAL(12,2))
BEGIN
  DECLARE msg VARCHAR(50) DEFAULT 'semi; colon';
  INSERT INTO orders (user_id, total, note) VALUES (p_user, p_total, msg);
END$$

CREATE FUNCTION user_label(p_id INT) RETURNS VARCHAR(300)
  READS SQL DATA
BEGIN
  DECLARE v VARCHAR(300);
  SELECT CONCAT(email, ' (', COALESCE(name, '?'), ')') INTO v FROM users WHERE id = p_id;
  RETURN v;
END$$

CREATE EVENT nightly_cleanup ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' DISABLE
  DO DELETE FROM audit WHERE id < 0$$
DELIMITER ;

CALL add_order(4, 42.00);
