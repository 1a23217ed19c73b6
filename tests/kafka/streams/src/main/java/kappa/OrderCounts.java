package kappa;

import java.time.Duration;
import java.time.Instant;
import java.util.Properties;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.Windowed;

/**
 * The seed article's Kafka Streams topology, as written there, completed only with what the
 * snippet leaves out: the Order and CategoryCount classes, JSON serdes and a main taking the
 * bootstrap address. Usage: OrderCounts BOOTSTRAP APPLICATION_ID
 */
public final class OrderCounts {
    /** An order event as the seed's producers write it. */
    public static final class Order {
        public String order_id;
        public String user_id;
        public double total;
        public String category;
        public String status;
        public String ts;

        public String getStatus() { return status; }
        public String getCategory() { return category; }
    }

    /** One output row: a category's count in the window starting at windowStart. */
    public static final class CategoryCount {
        public String category;
        public long count;
        public String windowStart;

        public CategoryCount() {}

        public CategoryCount(String category, long count, Instant windowStart) {
            this.category = category;
            this.count = count;
            this.windowStart = windowStart.toString();
        }
    }

    static final ObjectMapper JSON =
        new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    static <T> Serde<T> json(Class<T> type) {
        Serializer<T> ser = (topic, value) -> {
            try {
                return value == null ? null : JSON.writeValueAsBytes(value);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        };
        Deserializer<T> de = (topic, bytes) -> {
            try {
                return bytes == null ? null : JSON.readValue(bytes, type);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        };
        return Serdes.serdeFrom(ser, de);
    }

    public static void main(String[] args) throws Exception {
        Properties config = new Properties();
        config.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        config.put(StreamsConfig.APPLICATION_ID_CONFIG, args[1]);
        config.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
        config.put(StreamsConfig.STATE_DIR_CONFIG, args.length > 2 ? args[2] : "/tmp/kafka-streams");
        // Emit every update soon, so that the test sees the final counts quickly.
        config.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 500);
        config.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
        Serde<Order> orderSerde = json(Order.class);
        Serde<CategoryCount> countSerde = json(CategoryCount.class);

        // Kafka Streams: real-time order counting per category (the seed, as written; the
        // serdes are passed where the snippet relied on configured defaults)
        StreamsBuilder builder = new StreamsBuilder();
        KStream<String, Order> orders = builder.stream("order-events",
            org.apache.kafka.streams.kstream.Consumed.with(Serdes.String(), orderSerde));
        KTable<Windowed<String>, Long> categoryCounts = orders
            .filter((key, order) -> "completed".equals(order.getStatus()))
            .groupBy((key, order) -> order.getCategory(), Grouped.with(Serdes.String(), orderSerde))
            .windowedBy(TimeWindows.ofSizeWithNoGrace(Duration.ofMinutes(1)))
            .count(Materialized.as("category-counts-store"));
        // Write real-time counts back to Kafka
        categoryCounts.toStream()
            .map((windowedKey, count) -> KeyValue.pair(
                windowedKey.key(),
                new CategoryCount(windowedKey.key(), count,
                    windowedKey.window().startTime())
            ))
            .to("category-counts-output", Produced.with(Serdes.String(), countSerde));
        KafkaStreams streams = new KafkaStreams(builder.build(), config);
        streams.setUncaughtExceptionHandler(e -> {
            e.printStackTrace();
            return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler
                .StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        Runtime.getRuntime().addShutdownHook(new Thread(streams::close));
        streams.start();
        System.out.println("started");
        Thread.currentThread().join();
    }
}
