-- The data of mysql57.sql in MariaDB 10.11's own dialect.
SET NAMES utf8mb4;
CREATE TABLE `notes` (
  `id` int(11) NOT NULL,
  `body` varchar(50) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uq_body` (`body`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci;
INSERT INTO `notes` VALUES (1,'x'),(3,'été');
SET character_set_client = utf8, character_set_results = utf8, collation_connection = utf8_general_ci;
CREATE ALGORITHM=UNDEFINED SQL SECURITY DEFINER VIEW `v_notes` AS select `notes`.`id` AS `id`,`notes`.`body` AS `body` from `notes`;
