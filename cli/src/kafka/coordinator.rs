//! The group coordinator: FindCoordinator (this broker), JoinGroup / SyncGroup / Heartbeat /
//! LeaveGroup membership with generations, ListGroups and DescribeGroups. Membership lives in
//! memory (clients rejoin after a restart, as after a coordinator move in Kafka); committed
//! offsets live in the server's durable `Groups` (see `offsets.rs`).
//!
//! A rebalance completes as soon as every known member has rejoined, or when the longest
//! rebalance timeout passes (members that did not rejoin are dropped). Members that stop
//! heartbeating for their session timeout are dropped by `sweep`, which starts a rebalance.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::find_coordinator_response::Coordinator as KCoordinator;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{
    BrokerId, DescribeGroupsRequest, DescribeGroupsResponse, FindCoordinatorRequest,
    FindCoordinatorResponse, GroupId, HeartbeatRequest, HeartbeatResponse, JoinGroupRequest,
    JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse, ListGroupsResponse, SyncGroupRequest,
    SyncGroupResponse,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tokio::sync::oneshot;

use super::{kstr, Broker, NODE_ID};
use crate::limits::{GROUPS_MAX, KAFKA_GROUP_MEMBERS_MAX};

/// How often `sweep` looks for expired sessions and overdue rebalances.
const SWEEP_EVERY: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Empty,
    Preparing,
    Completing,
    Stable,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Empty => "Empty",
            Phase::Preparing => "PreparingRebalance",
            Phase::Completing => "CompletingRebalance",
            Phase::Stable => "Stable",
        }
    }
}

struct Member {
    client_id: String,
    protocols: Vec<(String, Bytes)>,
    session_timeout: Duration,
    rebalance_timeout: Duration,
    last_seen: Instant,
    /// Rejoined in the current rebalance.
    joined: bool,
    join_waiter: Option<oneshot::Sender<JoinGroupResponse>>,
    sync_waiter: Option<oneshot::Sender<SyncGroupResponse>>,
    assignment: Bytes,
}

struct Group {
    phase: Phase,
    generation: i32,
    protocol_type: String,
    protocol: Option<String>,
    leader: Option<String>,
    members: BTreeMap<String, Member>,
    rebalance_deadline: Instant,
    next_member: u64,
}

impl Group {
    fn new() -> Group {
        Group {
            phase: Phase::Empty,
            generation: 0,
            protocol_type: String::new(),
            protocol: None,
            leader: None,
            members: BTreeMap::new(),
            rebalance_deadline: Instant::now(),
            next_member: 0,
        }
    }

    /// Starts a rebalance: every member must rejoin; pending syncs are told to rejoin.
    fn prepare(&mut self, now: Instant) {
        if self.phase == Phase::Preparing {
            return;
        }
        self.phase = Phase::Preparing;
        let longest = self
            .members
            .values()
            .map(|m| m.rebalance_timeout)
            .max()
            .unwrap_or_default();
        self.rebalance_deadline = now + longest;
        for m in self.members.values_mut() {
            m.joined = false;
            if let Some(w) = m.sync_waiter.take() {
                let _ = w.send(sync_error(ResponseError::RebalanceInProgress));
            }
        }
    }

    /// Ends the join phase: drops members that did not rejoin, bumps the generation, picks the
    /// protocol and the leader, and answers every waiting JoinGroup.
    fn complete_join(&mut self, now: Instant) {
        self.members.retain(|_, m| m.joined);
        self.generation += 1;
        if self.members.is_empty() {
            self.phase = Phase::Empty;
            self.leader = None;
            self.protocol = None;
            return;
        }
        if !self
            .leader
            .as_ref()
            .is_some_and(|l| self.members.contains_key(l))
        {
            self.leader = self.members.keys().next().cloned();
        }
        let leader = self.leader.clone().expect("a non-empty group has a leader");
        let protocol = self.members[&leader]
            .protocols
            .iter()
            .map(|(n, _)| n.clone())
            .find(|n| {
                self.members
                    .values()
                    .all(|m| m.protocols.iter().any(|(p, _)| p == n))
            });
        self.protocol = protocol.clone();
        self.phase = Phase::Completing;
        let all: Vec<JoinGroupResponseMember> = self
            .members
            .iter()
            .map(|(id, m)| {
                let mut jm = JoinGroupResponseMember::default();
                jm.member_id = kstr(id.clone());
                jm.metadata = m
                    .protocols
                    .iter()
                    .find(|(n, _)| Some(n) == protocol.as_ref())
                    .map(|(_, md)| md.clone())
                    .unwrap_or_default();
                jm
            })
            .collect();
        for (id, m) in self.members.iter_mut() {
            m.last_seen = now;
            let Some(w) = m.join_waiter.take() else {
                continue;
            };
            let mut r = JoinGroupResponse::default();
            if protocol.is_none() {
                r.error_code = ResponseError::InconsistentGroupProtocol.code();
            }
            r.generation_id = self.generation;
            r.protocol_type = Some(kstr(self.protocol_type.clone()));
            r.protocol_name = protocol.clone().map(kstr);
            r.leader = kstr(leader.clone());
            r.member_id = kstr(id.clone());
            if *id == leader {
                r.members = all.clone();
            }
            let _ = w.send(r);
        }
    }

    fn all_joined(&self) -> bool {
        self.members.values().all(|m| m.joined)
    }
}

fn sync_error(e: ResponseError) -> SyncGroupResponse {
    let mut r = SyncGroupResponse::default();
    r.error_code = e.code();
    r
}

fn join_error(e: ResponseError, member_id: &str) -> JoinGroupResponse {
    let mut r = JoinGroupResponse::default();
    r.error_code = e.code();
    r.generation_id = -1;
    r.member_id = kstr(member_id);
    r
}

#[derive(Default)]
pub struct Coordinator {
    groups: Mutex<HashMap<String, Group>>,
}

impl Coordinator {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Group>> {
        self.groups
            .lock()
            .expect("coordinator lock is never poisoned")
    }

    pub async fn join(&self, r: JoinGroupRequest, _version: i16) -> JoinGroupResponse {
        let rx = {
            let mut groups = self.lock();
            let name = r.group_id.0.to_string();
            if !groups.contains_key(&name) && groups.len() >= GROUPS_MAX {
                return join_error(ResponseError::GroupMaxSizeReached, &r.member_id);
            }
            let g = groups.entry(name).or_insert_with(Group::new);
            if g.phase != Phase::Empty && g.protocol_type != r.protocol_type.as_str() {
                return join_error(ResponseError::InconsistentGroupProtocol, &r.member_id);
            }
            let member_id = if r.member_id.is_empty() {
                if g.members.len() >= KAFKA_GROUP_MEMBERS_MAX {
                    return join_error(ResponseError::GroupMaxSizeReached, "");
                }
                g.next_member += 1;
                format!("member-{}-{}", g.generation, g.next_member)
            } else if g.members.contains_key(r.member_id.as_str()) {
                r.member_id.to_string()
            } else {
                return join_error(ResponseError::UnknownMemberId, &r.member_id);
            };
            let now = Instant::now();
            g.protocol_type = r.protocol_type.to_string();
            g.prepare(now);
            let (tx, rx) = oneshot::channel();
            let member = Member {
                client_id: String::new(),
                protocols: r
                    .protocols
                    .iter()
                    .map(|p| (p.name.to_string(), p.metadata.clone()))
                    .collect(),
                session_timeout: Duration::from_millis(r.session_timeout_ms.max(1) as u64),
                rebalance_timeout: Duration::from_millis(
                    r.rebalance_timeout_ms.max(r.session_timeout_ms).max(1) as u64,
                ),
                last_seen: now,
                joined: true,
                join_waiter: Some(tx),
                sync_waiter: None,
                assignment: Bytes::new(),
            };
            g.members.insert(member_id, member);
            if g.all_joined() {
                g.complete_join(now);
            }
            rx
        };
        rx.await
            .unwrap_or_else(|_| join_error(ResponseError::RebalanceInProgress, ""))
    }

    pub async fn sync(&self, r: SyncGroupRequest) -> SyncGroupResponse {
        let rx = {
            let mut groups = self.lock();
            let Some(g) = groups.get_mut(r.group_id.0.as_str()) else {
                return sync_error(ResponseError::UnknownMemberId);
            };
            let id = r.member_id.to_string();
            if !g.members.contains_key(&id) {
                return sync_error(ResponseError::UnknownMemberId);
            }
            if r.generation_id != g.generation {
                return sync_error(ResponseError::IllegalGeneration);
            }
            match g.phase {
                Phase::Empty | Phase::Preparing => {
                    return sync_error(ResponseError::RebalanceInProgress)
                }
                Phase::Stable => return self.assignment(g, &id),
                Phase::Completing => {}
            }
            if g.leader.as_deref() == Some(id.as_str()) {
                for a in &r.assignments {
                    if let Some(m) = g.members.get_mut(a.member_id.as_str()) {
                        m.assignment = a.assignment.clone();
                    }
                }
                g.phase = Phase::Stable;
                let (ptype, proto) = (g.protocol_type.clone(), g.protocol.clone());
                for m in g.members.values_mut() {
                    if let Some(w) = m.sync_waiter.take() {
                        let _ = w.send(sync_ok(&ptype, &proto, m.assignment.clone()));
                    }
                }
                return self.assignment(g, &id);
            }
            let (tx, rx) = oneshot::channel();
            if let Some(m) = g.members.get_mut(&id) {
                m.sync_waiter = Some(tx);
            }
            rx
        };
        rx.await
            .unwrap_or_else(|_| sync_error(ResponseError::RebalanceInProgress))
    }

    fn assignment(&self, g: &Group, id: &str) -> SyncGroupResponse {
        sync_ok(
            &g.protocol_type,
            &g.protocol,
            g.members[id].assignment.clone(),
        )
    }

    pub fn heartbeat(&self, r: HeartbeatRequest) -> HeartbeatResponse {
        let mut resp = HeartbeatResponse::default();
        let mut groups = self.lock();
        let code = match groups.get_mut(r.group_id.0.as_str()) {
            None => ResponseError::UnknownMemberId.code(),
            Some(g) => match g.members.get_mut(r.member_id.as_str()) {
                None => ResponseError::UnknownMemberId.code(),
                Some(m) => {
                    m.last_seen = Instant::now();
                    if g.phase == Phase::Preparing {
                        ResponseError::RebalanceInProgress.code()
                    } else if r.generation_id != g.generation {
                        ResponseError::IllegalGeneration.code()
                    } else {
                        0
                    }
                }
            },
        };
        resp.error_code = code;
        resp
    }

    pub fn leave(&self, r: LeaveGroupRequest) -> LeaveGroupResponse {
        let mut resp = LeaveGroupResponse::default();
        let mut ids: Vec<String> = r.members.iter().map(|m| m.member_id.to_string()).collect();
        if !r.member_id.is_empty() {
            ids.push(r.member_id.to_string());
        }
        let mut groups = self.lock();
        let Some(g) = groups.get_mut(r.group_id.0.as_str()) else {
            resp.error_code = ResponseError::UnknownMemberId.code();
            return resp;
        };
        let now = Instant::now();
        for id in &ids {
            let mut m = MemberResponse::default();
            m.member_id = kstr(id.clone());
            if g.members.remove(id).is_none() {
                m.error_code = ResponseError::UnknownMemberId.code();
            }
            resp.members.push(m);
        }
        if r.members.is_empty() && resp.members.iter().any(|m| m.error_code != 0) {
            resp.error_code = ResponseError::UnknownMemberId.code();
        }
        resp.members.retain(|_| !r.members.is_empty());
        rebalance_after_removal(g, now);
        resp
    }

    /// OffsetCommit's generation check: `None` to accept. A generation of -1 is a commit by a
    /// consumer that assigns its own partitions (Flink's), accepted while the group has no members.
    pub fn check_commit(&self, group: &str, generation: i32, member_id: &str) -> Option<i16> {
        let groups = self.lock();
        let g = groups.get(group);
        if generation < 0 {
            return match g {
                Some(g) if !g.members.is_empty() => Some(ResponseError::UnknownMemberId.code()),
                _ => None,
            };
        }
        let Some(g) = g else {
            return Some(ResponseError::IllegalGeneration.code());
        };
        if !g.members.contains_key(member_id) {
            return Some(ResponseError::UnknownMemberId.code());
        }
        if g.phase == Phase::Preparing {
            return Some(ResponseError::RebalanceInProgress.code());
        }
        if generation != g.generation {
            return Some(ResponseError::IllegalGeneration.code());
        }
        None
    }

    pub fn describe(&self, r: DescribeGroupsRequest) -> DescribeGroupsResponse {
        let groups = self.lock();
        let mut resp = DescribeGroupsResponse::default();
        for name in r.groups {
            let mut d = DescribedGroup::default();
            d.group_id = name.clone();
            match groups.get(name.0.as_str()) {
                None => d.group_state = StrBytes::from_static_str("Dead"),
                Some(g) => {
                    d.group_state = StrBytes::from_static_str(g.phase.name());
                    d.protocol_type = kstr(g.protocol_type.clone());
                    d.protocol_data = kstr(g.protocol.clone().unwrap_or_default());
                    d.members = g
                        .members
                        .iter()
                        .map(|(id, m)| {
                            let mut dm = DescribedGroupMember::default();
                            dm.member_id = kstr(id.clone());
                            dm.client_id = kstr(m.client_id.clone());
                            dm.member_metadata = m
                                .protocols
                                .iter()
                                .find(|(n, _)| Some(n) == g.protocol.as_ref())
                                .map(|(_, md)| md.clone())
                                .unwrap_or_default();
                            dm.member_assignment = m.assignment.clone();
                            dm
                        })
                        .collect();
                }
            }
            resp.groups.push(d);
        }
        resp
    }

    /// (name, protocol type, state) of every group with members.
    fn listed(&self) -> Vec<(String, String, &'static str)> {
        self.lock()
            .iter()
            .map(|(n, g)| (n.clone(), g.protocol_type.clone(), g.phase.name()))
            .collect()
    }

    /// Expires sessions and finishes overdue rebalances.
    fn sweep_once(&self, now: Instant) {
        let mut groups = self.lock();
        for g in groups.values_mut() {
            let before = g.members.len();
            g.members.retain(|_, m| {
                m.join_waiter.is_some() || now.duration_since(m.last_seen) <= m.session_timeout
            });
            if g.members.len() != before {
                tracing::info!(members = g.members.len(), "kafka: group members expired");
                rebalance_after_removal(g, now);
            }
            if g.phase == Phase::Preparing && now >= g.rebalance_deadline {
                g.complete_join(now);
            }
        }
    }
}

/// After members left: an empty group is Empty; otherwise the rest rebalance (or, mid-rebalance,
/// the join may now be complete).
fn rebalance_after_removal(g: &mut Group, now: Instant) {
    if g.members.is_empty() {
        g.phase = Phase::Empty;
        g.leader = None;
        return;
    }
    g.prepare(now);
    if g.members.values().any(|m| m.joined) && g.all_joined() {
        g.complete_join(now);
    }
}

fn sync_ok(protocol_type: &str, protocol: &Option<String>, assignment: Bytes) -> SyncGroupResponse {
    let mut r = SyncGroupResponse::default();
    r.protocol_type = Some(kstr(protocol_type));
    r.protocol_name = protocol.clone().map(kstr);
    r.assignment = assignment;
    r
}

/// Runs `sweep_once` until shutdown.
pub async fn sweep(b: Arc<Broker>) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    loop {
        tokio::select! {
            _ = b.state.shutdown.cancelled() => return,
            _ = tick.tick() => b.groups.sweep_once(Instant::now()),
        }
    }
}

pub fn find(b: &Broker, r: FindCoordinatorRequest, version: i16) -> FindCoordinatorResponse {
    let mut resp = FindCoordinatorResponse::default();
    if version < 4 {
        resp.node_id = BrokerId(NODE_ID);
        resp.host = b.host();
        resp.port = b.config.advertise_port;
        return resp;
    }
    resp.coordinators = r
        .coordinator_keys
        .into_iter()
        .map(|key| {
            let mut c = KCoordinator::default();
            c.key = key;
            c.node_id = BrokerId(NODE_ID);
            c.host = b.host();
            c.port = b.config.advertise_port;
            c
        })
        .collect();
    resp
}

/// ListGroups: groups with members, and groups that only have committed offsets (over HTTP or
/// by assign()-based consumers) as Empty consumer groups.
pub fn list(b: &Broker) -> ListGroupsResponse {
    let mut resp = ListGroupsResponse::default();
    let mut seen: Vec<(String, String, &'static str)> = b.groups.listed();
    for name in b.state.groups.names() {
        if !seen.iter().any(|(n, _, _)| *n == name) {
            seen.push((name, "consumer".to_string(), Phase::Empty.name()));
        }
    }
    seen.sort();
    resp.groups = seen
        .into_iter()
        .map(|(name, ptype, state)| {
            let mut g = ListedGroup::default();
            g.group_id = GroupId(kstr(name));
            g.protocol_type = kstr(ptype);
            g.group_state = StrBytes::from_static_str(state);
            g.group_type = StrBytes::from_static_str("classic");
            g
        })
        .collect();
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
    use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;

    fn join_request(member_id: &str) -> JoinGroupRequest {
        let mut r = JoinGroupRequest::default();
        r.group_id = GroupId(kstr("g"));
        r.member_id = kstr(member_id);
        r.session_timeout_ms = 10_000;
        r.rebalance_timeout_ms = 10_000;
        r.protocol_type = kstr("consumer");
        let mut p = JoinGroupRequestProtocol::default();
        p.name = kstr("range");
        p.metadata = Bytes::from_static(b"meta");
        r.protocols = vec![p];
        r
    }

    fn heartbeat(c: &Coordinator, member: &StrBytes, generation: i32) -> i16 {
        let mut r = HeartbeatRequest::default();
        r.group_id = GroupId(kstr("g"));
        r.member_id = member.clone();
        r.generation_id = generation;
        c.heartbeat(r).error_code
    }

    fn sync_request(
        member: &StrBytes,
        generation: i32,
        assign: &[(&StrBytes, &'static [u8])],
    ) -> SyncGroupRequest {
        let mut r = SyncGroupRequest::default();
        r.group_id = GroupId(kstr("g"));
        r.member_id = member.clone();
        r.generation_id = generation;
        r.assignments = assign
            .iter()
            .map(|(m, a)| {
                let mut x = SyncGroupRequestAssignment::default();
                x.member_id = (*m).clone();
                x.assignment = Bytes::from_static(a);
                x
            })
            .collect();
        r
    }

    #[tokio::test]
    async fn a_rebalance_completes_when_every_known_member_has_rejoined() {
        let c = Arc::new(Coordinator::default());
        let a = c.join(join_request(""), 5).await;
        assert_eq!((a.error_code, a.generation_id), (0, 1));
        assert_eq!(a.leader, a.member_id, "a lone member leads");
        let c2 = c.clone();
        let b = tokio::spawn(async move { c2.join(join_request(""), 5).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!b.is_finished(), "b waits for a to rejoin");
        assert_eq!(
            heartbeat(&c, &a.member_id, 1),
            ResponseError::RebalanceInProgress.code()
        );
        let a2 = c.join(join_request(&a.member_id), 5).await;
        let b = b.await.expect("b's join");
        assert_eq!((a2.generation_id, b.generation_id), (2, 2));
        assert_eq!(
            a2.members.len(),
            2,
            "the leader gets every member's metadata"
        );
        assert!(b.members.is_empty());
        let c3 = c.clone();
        let b_id = b.member_id.clone();
        let follower = tokio::spawn(async move { c3.sync(sync_request(&b_id, 2, &[])).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !follower.is_finished(),
            "a follower waits for the leader's assignments"
        );
        let leader = c
            .sync(sync_request(
                &a.member_id,
                2,
                &[(&a.member_id, b"p0"), (&b.member_id, b"p1")],
            ))
            .await;
        assert_eq!(&leader.assignment[..], b"p0");
        assert_eq!(&follower.await.expect("sync").assignment[..], b"p1");
        assert_eq!(heartbeat(&c, &b.member_id, 2), 0);
        assert_eq!(
            heartbeat(&c, &b.member_id, 1),
            ResponseError::IllegalGeneration.code()
        );
        assert_eq!(c.check_commit("g", 2, a.member_id.as_str()), None);
        assert_eq!(
            c.check_commit("g", -1, ""),
            Some(ResponseError::UnknownMemberId.code())
        );
        assert_eq!(
            c.check_commit("other", -1, ""),
            None,
            "assign()-style commits to a memberless group"
        );
    }

    #[test]
    fn members_that_stop_heartbeating_are_dropped_and_the_rest_rebalance() {
        let c = Coordinator::default();
        {
            let mut groups = c.lock();
            let g = groups.entry("g".into()).or_insert_with(Group::new);
            let now = Instant::now();
            for id in ["a", "b"] {
                g.members.insert(
                    id.to_string(),
                    Member {
                        client_id: String::new(),
                        protocols: vec![("range".into(), Bytes::new())],
                        session_timeout: Duration::from_millis(10),
                        rebalance_timeout: Duration::from_millis(10),
                        last_seen: now,
                        joined: true,
                        join_waiter: None,
                        sync_waiter: None,
                        assignment: Bytes::new(),
                    },
                );
            }
            g.phase = Phase::Stable;
            g.generation = 3;
            g.members.get_mut("a").expect("a").last_seen = now + Duration::from_secs(1);
        }
        c.sweep_once(Instant::now() + Duration::from_millis(500));
        let groups = c.lock();
        let g = &groups["g"];
        assert_eq!(g.members.keys().collect::<Vec<_>>(), vec!["a"]);
        assert_eq!(g.phase, Phase::Preparing, "the survivor must rejoin");
    }
}
