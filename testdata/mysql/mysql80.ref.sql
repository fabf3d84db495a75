-- The data of mysql80.sql, written by hand in MariaDB 10.11's own dialect:
-- the reference a restore of mysql80.sql is compared with.
SET NAMES utf8mb4;
SET FOREIGN_KEY_CHECKS=0;
SET SQL_MODE='NO_AUTO_VALUE_ON_ZERO';
CREATE TABLE `customers` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `name` varchar(100) NOT NULL,
  `code` varchar(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_uca1400_nopad_as_cs DEFAULT NULL,
  `city` varchar(40) COLLATE utf8mb4_uca1400_german2_nopad_ai_ci DEFAULT NULL,
  `token` varchar(32) COLLATE utf8mb4_nopad_bin DEFAULT NULL,
  `note` text,
  `row_tag` int(11) DEFAULT NULL INVISIBLE,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uq_name` (`name`),
  KEY `ix_code` (`code`) IGNORED
) ENGINE=InnoDB AUTO_INCREMENT=5 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_uca1400_nopad_ai_ci;
INSERT INTO `customers` (`id`, `name`, `code`, `city`, `token`, `note`, `row_tag`) VALUES (1,'Ana','AB-1','MÃ¼nchen','t1','first\nline',7),(2,'ana ','ab-1','StraÃŸe','T1',NULL,NULL),(3,'ZoÃ«','X','Ã–lfen',NULL,'it\'s \"quoted\"',3),(4,'a','a ','KÃ¶ln','t1 ','tab\there',NULL);
CREATE TABLE `files` (
  `id` int(11) NOT NULL,
  `data` blob,
  `flag` bit(1) NOT NULL DEFAULT b'0',
  `hash` binary(4) DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_uca1400_nopad_ai_ci;
INSERT INTO `files` VALUES (1,_binary 'ab\0c\'d\\e',_binary '',_binary 'x\0y\n'),(2,_binary '',_binary '\0',NULL),(3,_binary 'ÿþ€;\r\Z',_binary '',_binary 'Þ­¾ï');
CREATE TABLE `orders` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `customer_id` int(11) NOT NULL,
  `qty` int(11) NOT NULL DEFAULT 1,
  `price` decimal(10,2) NOT NULL,
  `placed` datetime NOT NULL,
  PRIMARY KEY (`id`),
  KEY `fk_customer` (`customer_id`),
  CONSTRAINT `fk_customer` FOREIGN KEY (`customer_id`) REFERENCES `customers` (`id`)
) ENGINE=InnoDB AUTO_INCREMENT=4 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_uca1400_nopad_ai_ci;
INSERT INTO `orders` VALUES (1,1,2,9.50,'2026-03-13 10:00:00'),(2,1,1,120.00,'2026-03-13 11:30:00'),(3,3,5,0.99,'2026-03-14 02:59:59');
SET collation_connection = utf8mb4_uca1400_nopad_ai_ci;
SET sql_mode = 'ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';
DELIMITER ;;
CREATE TRIGGER `orders_bi` BEFORE INSERT ON `orders` FOR EACH ROW BEGIN
  IF NEW.qty < 1 THEN
    SET NEW.qty = 1;
  END IF;
END;;
CREATE FUNCTION `order_total`(p_id int) RETURNS decimal(10,2)
    READS SQL DATA
    DETERMINISTIC
BEGIN
  DECLARE t decimal(10,2);
  SELECT qty * price INTO t FROM orders WHERE id = p_id;
  RETURN t;
END;;
CREATE PROCEDURE `rename_city`(IN p_old varchar(40), IN p_new varchar(40))
BEGIN
  UPDATE customers SET city = p_new WHERE city = p_old COLLATE utf8mb4_uca1400_nopad_ai_ci;
END;;
DELIMITER ;
CREATE ALGORITHM=UNDEFINED SQL SECURITY DEFINER VIEW `v_customer_orders` AS select `c`.`name` AS `name`,count(`o`.`id`) AS `orders` from (`customers` `c` left join `orders` `o` on((`o`.`customer_id` = `c`.`id`))) where (`c`.`name` <> (_utf8mb4'zz' collate utf8mb4_uca1400_nopad_ai_ci)) group by `c`.`name`;
