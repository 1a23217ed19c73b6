package kappa;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Future;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The Java client (kafka-clients 4.x) against a broker: admin create/delete, produce with
 * acks=all and idempotence, consume from the beginning, a group that resumes after its last
 * commit, ListOffsets earliest/latest/by time. Usage: ClientChecks BOOTSTRAP. Exits 1 on failure.
 */
public final class ClientChecks {
    static String bootstrap;

    static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    static KafkaConsumer<String, String> consumer(String group) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "java-client-checks");
        return new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer());
    }

    static List<ConsumerRecord<String, String>> poll(KafkaConsumer<String, String> c, int want) {
        List<ConsumerRecord<String, String>> got = new ArrayList<>();
        long deadline = System.currentTimeMillis() + 30_000;
        while (got.size() < want && System.currentTimeMillis() < deadline) {
            c.poll(Duration.ofMillis(200)).forEach(got::add);
        }
        return got;
    }

    public static void main(String[] args) throws Exception {
        bootstrap = args[0];
        String topic = "java-" + UUID.randomUUID().toString().substring(0, 8);
        Properties ap = new Properties();
        ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        ap.put(AdminClientConfig.CLIENT_ID_CONFIG, "java-client-checks");
        try (Admin admin = Admin.create(ap)) {
            admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1))).all().get();
            check(admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().size() == 2,
                "two partitions");
            System.out.println("PASS java admin create");

            Properties pp = new Properties();
            pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            pp.put(ProducerConfig.ACKS_CONFIG, "all");
            pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
            pp.put(ProducerConfig.CLIENT_ID_CONFIG, "java-client-checks");
            List<RecordMetadata> acked = new ArrayList<>();
            try (KafkaProducer<String, String> producer =
                     new KafkaProducer<>(pp, new StringSerializer(), new StringSerializer())) {
                List<Future<RecordMetadata>> fs = new ArrayList<>();
                for (int i = 0; i < 100; i++) {
                    fs.add(producer.send(new ProducerRecord<>(topic, "k" + (i % 10), "{\"i\":" + i + "}")));
                }
                for (Future<RecordMetadata> f : fs) {
                    acked.add(f.get());
                }
            }
            Set<String> places = new HashSet<>();
            acked.forEach(m -> places.add(m.partition() + "/" + m.offset()));
            check(places.size() == 100, "100 distinct offsets");
            System.out.println("PASS java produce acks=all idempotent");

            String group = "java-group-" + UUID.randomUUID().toString().substring(0, 8);
            List<ConsumerRecord<String, String>> first;
            try (KafkaConsumer<String, String> c = consumer(group)) {
                c.subscribe(List.of(topic));
                first = poll(c, 100);
                check(first.size() == 100, "consumed all 100 from the beginning: " + first.size());
                check(first.stream().allMatch(r -> r.timestampType() == TimestampType.LOG_APPEND_TIME),
                    "LogAppendTime");
                c.commitSync();
            }
            System.out.println("PASS java consume from the beginning, commit");
            try (KafkaProducer<String, String> producer =
                     new KafkaProducer<>(pp, new StringSerializer(), new StringSerializer())) {
                for (int i = 100; i < 110; i++) {
                    producer.send(new ProducerRecord<>(topic, "k" + i, "{\"i\":" + i + "}")).get();
                }
            }
            try (KafkaConsumer<String, String> c = consumer(group)) {
                c.subscribe(List.of(topic));
                List<ConsumerRecord<String, String>> rest = poll(c, 10);
                check(rest.size() == 10, "resumed after the last commit: " + rest.size());
                check(rest.stream().allMatch(r -> Integer.parseInt(r.value().replaceAll("\\D", "")) >= 100),
                    "only the new records");
            }
            System.out.println("PASS java group resumes after its last commit");

            TopicPartition tp0 = new TopicPartition(topic, 0);
            long earliest = admin.listOffsets(Map.of(tp0, OffsetSpec.earliest())).all().get().get(tp0).offset();
            long latest = admin.listOffsets(Map.of(tp0, OffsetSpec.latest())).all().get().get(tp0).offset();
            long firstTs = first.stream().filter(r -> r.partition() == 0).mapToLong(ConsumerRecord::timestamp)
                .min().orElseThrow();
            ListOffsetsResult.ListOffsetsResultInfo byTime =
                admin.listOffsets(Map.of(tp0, OffsetSpec.forTimestamp(firstTs))).all().get().get(tp0);
            check(earliest == 0 && latest > 0 && byTime.offset() == 0, earliest + " " + latest + " " + byTime);
            System.out.println("PASS java ListOffsets earliest/latest/by time");

            admin.deleteTopics(List.of(topic)).all().get();
            check(!admin.listTopics().names().get().contains(topic), "deleted");
            System.out.println("PASS java admin delete");
        }
    }
}
