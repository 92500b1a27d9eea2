// RocksStore's notification outbox and subscriptions against a real RocksDB.
#include <gtest/gtest.h>

#include "integration/store_fixture.hpp"
#include "nbms/storage/rocks_store.hpp"

namespace nbms::storage {
namespace {

class NotifyStoreTest : public StoreTest {
 protected:
  static Notification notification(std::string id, std::int64_t created = 100) {
    Notification n;
    n.id = std::move(id);
    n.customer = "C1";
    n.building = "B1";
    n.kind = NotificationKind::alarm;
    n.priority = NotificationPriority::high;
    n.title = "Température haute";
    n.body = "AHU 1";
    n.created_ms = created;
    n.link = "/alarms/1";
    n.author = "mia";
    return n;
  }
  static Delivery delivery(const Notification& n, int index, std::string user, std::int64_t due) {
    Delivery d;
    d.id = n.id + "." + std::to_string(index);
    d.notification_id = n.id;
    d.user = std::move(user);
    d.endpoint_id = "ep" + std::to_string(index);
    d.channel = ChannelKind::webhook;
    d.created_ms = n.created_ms;
    d.next_attempt_ms = due;
    d.updated_ms = n.created_ms;
    return d;
  }
};

TEST_F(NotifyStoreTest, EnqueueIsAtomicIdempotentAndDurable) {
  const auto n = notification("n1");
  const std::vector<Delivery> ds = {delivery(n, 0, "ann", 300), delivery(n, 1, "bob", 200)};
  ASSERT_TRUE(store_->enqueue(n, ds));
  EXPECT_EQ(store_->enqueue(n, ds).error().code, Errc::already_exists);
  open();
  auto back = store_->notification("n1");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, n);
  EXPECT_EQ(*store_->delivery("n1.0"), ds[0]);
  EXPECT_EQ(store_->delivery("n9.0").error().code, Errc::not_found);
  // Earliest due first; only what is due.
  auto due = store_->due_deliveries(250, 10);
  ASSERT_TRUE(due);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].id, "n1.1");
  due = store_->due_deliveries(1000, 10);
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].id, "n1.1");
  EXPECT_EQ((*due)[1].id, "n1.0");
  EXPECT_EQ(store_->due_deliveries(1000, 1)->size(), 1u);
  EXPECT_EQ(**store_->next_due(), 200);
}

TEST_F(NotifyStoreTest, RejectsBadInput) {
  auto n = notification("bad id");
  EXPECT_EQ(store_->enqueue(n, {}).error().code, Errc::invalid_argument);
  n = notification("n1");
  auto stray = delivery(notification("other"), 0, "ann", 0);
  EXPECT_EQ(store_->enqueue(n, {stray}).error().code, Errc::invalid_argument);
  const auto d = delivery(n, 0, "ann", 0);
  EXPECT_EQ(store_->enqueue(n, {d, d}).error().code, Errc::invalid_argument);
  EXPECT_EQ(store_->notification("n1").error().code, Errc::not_found);  // nothing written
}

TEST_F(NotifyStoreTest, UpdateMovesTheDueEntryAndFinishedLeavesTheQueue) {
  const auto n = notification("n1");
  auto d = delivery(n, 0, "ann", 100);
  ASSERT_TRUE(store_->enqueue(n, {d}));
  d.state = DeliveryState::in_flight;
  d.attempts = 1;
  d.next_attempt_ms = 5000;
  ASSERT_TRUE(store_->update_delivery(d));
  EXPECT_TRUE(store_->due_deliveries(4999, 10)->empty());
  EXPECT_EQ(**store_->next_due(), 5000);
  auto due = store_->due_deliveries(5000, 10);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].state, DeliveryState::in_flight);
  d.state = DeliveryState::sent;
  ASSERT_TRUE(store_->update_delivery(d));
  open();
  EXPECT_TRUE(store_->due_deliveries(1'000'000, 10)->empty());
  EXPECT_FALSE(*store_->next_due());
  EXPECT_EQ(store_->delivery("n1.0")->state, DeliveryState::sent);
  EXPECT_EQ(store_->delivery("n1.0")->attempts, 1);
  auto ghost = d;
  ghost.id = "n1.7";
  EXPECT_EQ(store_->update_delivery(ghost).error().code, Errc::not_found);
}

TEST_F(NotifyStoreTest, DeliveriesOfAUserNewestFirst) {
  for (int i = 0; i < 5; ++i) {
    const auto n = notification("n" + std::to_string(i), 100 + i);
    ASSERT_TRUE(store_->enqueue(n, {delivery(n, 0, "ann", 0), delivery(n, 1, "annie", 0)}));
  }
  auto mine = store_->deliveries_of("ann", 3);
  ASSERT_TRUE(mine);
  ASSERT_EQ(mine->size(), 3u);
  EXPECT_EQ((*mine)[0].id, "n4.0");
  EXPECT_EQ((*mine)[2].id, "n2.0");
  EXPECT_EQ(store_->deliveries_of("annie", 100)->size(), 5u);  // "ann" is not a prefix match
  EXPECT_TRUE(store_->deliveries_of("nobody", 10)->empty());
}

TEST_F(NotifyStoreTest, NotificationsWithPrefixGreatestIdFirst) {
  for (const char* id :
       {"notice.C1.0000000000200.a", "notice.C1.0000000000100.b", "notice.C10.0000000000300.c",
        "notice.C2.0000000000400.d", "alarm.C1.B1.x"}) {
    ASSERT_TRUE(store_->enqueue(notification(id), {}));
  }
  auto c1 = store_->notifications_with_prefix("notice.C1.", 10);
  ASSERT_TRUE(c1) << c1.error().message;
  ASSERT_EQ(c1->size(), 2u);
  EXPECT_EQ((*c1)[0].id, "notice.C1.0000000000200.a");
  EXPECT_EQ((*c1)[1].id, "notice.C1.0000000000100.b");
  auto one = store_->notifications_with_prefix("notice.C1.", 1);
  ASSERT_TRUE(one);
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].id, "notice.C1.0000000000200.a");
  auto all = store_->notifications_with_prefix("notice.", 10);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 4u);
  auto none = store_->notifications_with_prefix("notice.C3.", 10);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST_F(NotifyStoreTest, SubscriptionsAndEndpointsCrud) {
  Subscription s{"ann",
                 "C1",
                 "B1",
                 true,
                 false,
                 NotificationPriority::medium,
                 {ChannelKind::email, ChannelKind::web_push}};
  ASSERT_TRUE(store_->put_subscription(s));
  Subscription wide{"ann", "C1", "", true, true, NotificationPriority::low, {ChannelKind::email}};
  ASSERT_TRUE(store_->put_subscription(wide));
  Subscription other{"bob", "C2", "", true, true, NotificationPriority::low, {}};
  ASSERT_TRUE(store_->put_subscription(other));
  s.min_priority = NotificationPriority::urgent;  // replace
  ASSERT_TRUE(store_->put_subscription(s));
  open();
  auto mine = store_->subscriptions_of("ann");
  ASSERT_TRUE(mine);
  ASSERT_EQ(mine->size(), 2u);
  EXPECT_EQ((*mine)[0], wide);  // "" sorts before "B1"
  EXPECT_EQ((*mine)[1], s);
  EXPECT_EQ(store_->subscriptions_for("C1")->size(), 2u);
  EXPECT_EQ(store_->subscriptions_for("C2")->size(), 1u);
  ASSERT_TRUE(store_->delete_subscription("ann", "C1", "B1"));
  EXPECT_EQ(store_->delete_subscription("ann", "C1", "B1").error().code, Errc::not_found);
  EXPECT_EQ(store_->subscriptions_of("ann")->size(), 1u);
  EXPECT_FALSE(store_->put_subscription(Subscription{"", "C1", "", true, true, {}, {}}));

  Endpoint e{"ann", "phone", ChannelKind::web_push, "https://push.example/x", "key", "auth", "",
             5,     0};
  ASSERT_TRUE(store_->put_endpoint(e));
  Endpoint hook{"ann", "hook", ChannelKind::webhook, "https://example.com/h",
                "",    "",     "0123456789abcdef",   6,
                0};
  ASSERT_TRUE(store_->put_endpoint(hook));
  hook.secret = "short";
  EXPECT_EQ(store_->put_endpoint(hook).error().code, Errc::invalid_argument);
  e.expired_ms = 99;
  ASSERT_TRUE(store_->put_endpoint(e));
  open();
  EXPECT_EQ(*store_->endpoint("ann", "phone"), e);
  EXPECT_EQ(store_->endpoints_of("ann")->size(), 2u);
  EXPECT_TRUE(store_->endpoints_of("an")->empty());
  ASSERT_TRUE(store_->delete_endpoint("ann", "phone"));
  EXPECT_EQ(store_->endpoint("ann", "phone").error().code, Errc::not_found);
  EXPECT_EQ(store_->delete_endpoint("ann", "phone").error().code, Errc::not_found);
}

}  // namespace
}  // namespace nbms::storage
