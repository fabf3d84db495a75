-- The data of mysql80-12.sql and mariadb-dump-of-mysql80.sql in MariaDB 10.11's own dialect.
SET NAMES utf8mb4;
CREATE TABLE `notes` (
  `id` int(11) NOT NULL,
  `body` varchar(50) COLLATE utf8mb4_uca1400_nopad_ai_ci NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uq_body` (`body`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_uca1400_nopad_ai_ci;
INSERT INTO `notes` VALUES (1,'x'),(2,'x '),(3,'été');
