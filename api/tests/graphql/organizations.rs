//! Organizations, roles, members and invitations.

use keynet_testkit::{Account, TestApp};
use serde_json::{Value, json};

const ACCEPT_LINK: &str = "/invitations/accept";
const CHANGE_ROLE: &str = "mutation($o: ID!, $u: ID!, $r: Role!) { changeMemberRole(orgId: $o, userId: $u, role: $r) { role user { email } } }";
const REMOVE: &str = "mutation($o: ID!, $u: ID!) { removeMember(orgId: $o, userId: $u) }";
const LEAVE: &str = "mutation($o: ID!) { leaveOrganization(orgId: $o) }";
const TRANSFER: &str = "mutation($o: ID!, $u: ID!) { transferOwnership(orgId: $o, userId: $u) }";
const MEMBERS: &str = "query($o: ID!, $first: Int, $after: String) { members(orgId: $o, first: $first, after: $after) { edges { cursor node { role user { email } } } pageInfo { hasNextPage endCursor } } }";

on_both_backends!(
    organizations_are_created_found_and_updated,
    invitations_bring_people_in,
    invitation_lifecycle_and_bad_tokens,
    roles_never_exceed_the_granter,
    an_owner_always_remains,
    members_are_paginated,
);

async fn organizations_are_created_found_and_updated(app: &TestApp) {
    let owner = app.signup("owner@example.com").await;
    let create = "mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { id slug viewerRole members { edges { node { role user { email } } } } } }";
    let data = app
        .data(
            Some(&owner.token),
            create,
            json!({"i": {"name": "Acme Vision", "slug": "acme"}}),
        )
        .await;
    let org = &data["createOrganization"];
    assert_eq!(org["viewerRole"], "OWNER");
    assert_eq!(
        org["members"]["edges"][0]["node"]["user"]["email"],
        "owner@example.com"
    );

    for (input, code, field) in [
        (json!({"name": "Other", "slug": "acme"}), "CONFLICT", None),
        (
            json!({"name": "Bad", "slug": "Not A Slug"}),
            "BAD_USER_INPUT",
            Some("slug"),
        ),
        (
            json!({"name": "", "slug": "empty-name"}),
            "BAD_USER_INPUT",
            Some("name"),
        ),
    ] {
        let (got, error) = app
            .error(Some(&owner.token), create, json!({"i": input}))
            .await;
        assert_eq!(got, code);
        if let Some(field) = field {
            assert_eq!(error["extensions"]["field"], field);
        }
    }

    let by_slug = "query($s: String!) { organization(slug: $s) { name viewerRole } }";
    assert_eq!(
        app.data(Some(&owner.token), by_slug, json!({"s": "acme"}))
            .await["organization"]["name"],
        "Acme Vision"
    );
    let stranger = app.signup("stranger@example.com").await;
    assert_eq!(
        app.code(Some(&stranger.token), by_slug, json!({"s": "acme"}))
            .await,
        "NOT_FOUND"
    );

    let update =
        "mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) { name slug } }";
    let id = org["id"].as_str().unwrap();
    let updated = app
        .data(
            Some(&owner.token),
            update,
            json!({"i": {"orgId": id, "name": "Acme AI", "slug": "acme-ai"}}),
        )
        .await;
    assert_eq!(
        updated["updateOrganization"],
        json!({"name": "Acme AI", "slug": "acme-ai"})
    );
    let mine = app
        .data(
            Some(&owner.token),
            "{ myOrganizations { edges { node { slug } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        mine["myOrganizations"]["edges"][0]["node"]["slug"],
        "acme-ai"
    );

    let member = app.join(&owner, id, "member@example.com", "MEMBER").await;
    let delete = "mutation($o: ID!) { deleteOrganization(orgId: $o) }";
    assert_eq!(
        app.code(Some(&member.token), delete, json!({"o": id}))
            .await,
        "FORBIDDEN"
    );
    app.data(Some(&owner.token), delete, json!({"o": id})).await;
    assert_eq!(
        app.code(Some(&owner.token), by_slug, json!({"s": "acme-ai"}))
            .await,
        "NOT_FOUND"
    );
}

async fn invitations_bring_people_in(app: &TestApp) {
    let owner = app.signup("owner@example.com").await;
    let org = app.create_org(&owner, "acme").await;

    // An existing user accepts while signed in.
    let bob = app.signup("bob@example.com").await;
    app.invite(&owner, &org, "bob@example.com", "ADMIN").await;
    let email = app.email("bob@example.com", "invited you").await;
    assert!(email.subject.contains("ACME"), "{}", email.subject);
    let token = email.link_token(ACCEPT_LINK);
    let preview =
        "query($t: String!) { invitation(token: $t) { organization { name slug } email role } }";
    let seen = app.data(None, preview, json!({"t": token})).await;
    assert_eq!(
        seen["invitation"],
        json!({"organization": {"name": "ACME", "slug": "acme"}, "email": "bob@example.com", "role": "ADMIN"})
    );
    let accept = "mutation($t: String!) { acceptInvitation(token: $t) { slug viewerRole } }";
    let joined = app
        .data(Some(&bob.token), accept, json!({"t": token}))
        .await;
    assert_eq!(
        joined["acceptInvitation"],
        json!({"slug": "acme", "viewerRole": "ADMIN"})
    );
    assert_eq!(
        app.code(Some(&bob.token), accept, json!({"t": token}))
            .await,
        "NOT_FOUND",
        "single use"
    );
    let me = app
        .data(Some(&bob.token), "{ me { emailVerified } }", json!({}))
        .await;
    assert_eq!(
        me["me"]["emailVerified"], true,
        "the invitation email proved the address"
    );

    // A new user signs up through the link.
    let carol = app.join(&owner, &org, "carol@example.com", "VIEWER").await;
    let roles = app
        .data(Some(&carol.token), MEMBERS, json!({"o": org}))
        .await;
    let emails: Vec<&str> = roles["members"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["user"]["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        ["owner@example.com", "bob@example.com", "carol@example.com"]
    );

    let invite = "mutation($i: InviteMemberInput!) { inviteMember(input: $i) { id } }";
    let again = json!({"i": {"orgId": org, "email": "carol@example.com", "role": "MEMBER"}});
    assert_eq!(
        app.code(Some(&owner.token), invite, again).await,
        "CONFLICT",
        "already a member"
    );
    let (code, error) = app
        .error(
            Some(&owner.token),
            invite,
            json!({"i": {"orgId": org, "email": "nope", "role": "MEMBER"}}),
        )
        .await;
    assert_eq!(
        (code.as_str(), &error["extensions"]["field"]),
        ("BAD_USER_INPUT", &json!("email"))
    );
    assert_eq!(
        app.code(
            Some(&carol.token),
            invite,
            json!({"i": {"orgId": org, "email": "d@example.com", "role": "VIEWER"}})
        )
        .await,
        "FORBIDDEN",
        "viewers cannot invite"
    );
}

async fn invitation_lifecycle_and_bad_tokens(app: &TestApp) {
    let owner = app.signup("owner@example.com").await;
    let org = app.create_org(&owner, "acme").await;
    let invitation = app.invite(&owner, &org, "dave@example.com", "MEMBER").await;
    let first = app
        .email("dave@example.com", "invited you")
        .await
        .link_token(ACCEPT_LINK);
    let invite = "mutation($i: InviteMemberInput!) { inviteMember(input: $i) { id } }";
    let pending = json!({"i": {"orgId": org, "email": "dave@example.com", "role": "MEMBER"}});
    assert_eq!(
        app.code(Some(&owner.token), invite, pending).await,
        "CONFLICT",
        "one pending invitation per address"
    );

    let resend = "mutation($i: ID!) { resendInvitation(invitationId: $i) { status } }";
    app.data(Some(&owner.token), resend, json!({"i": invitation}))
        .await;
    // Wait for the second email: the newest one carries a different token.
    let second = loop {
        let token = app
            .email("dave@example.com", "invited you")
            .await
            .link_token(ACCEPT_LINK);
        if token != first {
            break token;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let preview = "query($t: String!) { invitation(token: $t) { email } }";
    assert_eq!(
        app.code(None, preview, json!({"t": first})).await,
        "NOT_FOUND",
        "the old link stopped working"
    );
    app.data(None, preview, json!({"t": second})).await;

    // Someone else signed in cannot use it.
    let eve = app.signup("eve@example.com").await;
    let accept = "mutation($t: String!) { acceptInvitation(token: $t) { id } }";
    assert_eq!(
        app.code(Some(&eve.token), accept, json!({"t": second}))
            .await,
        "FORBIDDEN"
    );
    let (code, error) = app
        .error(None, "mutation($i: SignupInput!) { signup(input: $i) { user { id } } }", json!({"i": {"email": "eve2@example.com", "password": "long enough pw", "displayName": "Eve", "invitationToken": second}}))
        .await;
    assert_eq!(
        (code.as_str(), &error["extensions"]["field"]),
        ("BAD_USER_INPUT", &json!("email"))
    );

    let revoke = "mutation($i: ID!) { revokeInvitation(invitationId: $i) { status } }";
    let revoked = app
        .data(Some(&owner.token), revoke, json!({"i": invitation}))
        .await;
    assert_eq!(revoked["revokeInvitation"]["status"], "REVOKED");
    assert_eq!(
        app.code(None, preview, json!({"t": second})).await,
        "NOT_FOUND"
    );
    assert_eq!(
        app.code(Some(&owner.token), resend, json!({"i": invitation}))
            .await,
        "CONFLICT"
    );
    assert_eq!(
        app.code(None, preview, json!({"t": "made-up-token"})).await,
        "NOT_FOUND"
    );

    let list = "query($o: ID!) { invitations(orgId: $o) { edges { node { email status invitedBy { email } } } } }";
    let listed = app.data(Some(&owner.token), list, json!({"o": org})).await;
    assert_eq!(
        listed["invitations"]["edges"][0]["node"],
        json!({"email": "dave@example.com", "status": "REVOKED", "invitedBy": {"email": "owner@example.com"}})
    );
}

async fn roles_never_exceed_the_granter(app: &TestApp) {
    let owner = app.signup("owner@example.com").await;
    let org = app.create_org(&owner, "acme").await;
    let admin = app.join(&owner, &org, "admin@example.com", "ADMIN").await;
    let member = app.join(&owner, &org, "member@example.com", "MEMBER").await;
    let role = |user: &Account, role: &str| json!({"o": org, "u": user.user_id, "r": role});

    assert_eq!(
        app.code(Some(&admin.token), CHANGE_ROLE, role(&member, "OWNER"))
            .await,
        "FORBIDDEN"
    );
    assert_eq!(
        app.code(Some(&admin.token), CHANGE_ROLE, role(&owner, "VIEWER"))
            .await,
        "FORBIDDEN"
    );
    assert_eq!(
        app.code(Some(&member.token), CHANGE_ROLE, role(&admin, "VIEWER"))
            .await,
        "FORBIDDEN"
    );
    let changed = app
        .data(Some(&admin.token), CHANGE_ROLE, role(&member, "ADMIN"))
        .await;
    assert_eq!(changed["changeMemberRole"]["role"], "ADMIN");
    let invite = "mutation($i: InviteMemberInput!) { inviteMember(input: $i) { id } }";
    let as_owner = json!({"i": {"orgId": org, "email": "x@example.com", "role": "OWNER"}});
    assert_eq!(
        app.code(Some(&admin.token), invite, as_owner).await,
        "FORBIDDEN"
    );

    assert_eq!(
        app.code(
            Some(&admin.token),
            REMOVE,
            json!({"o": org, "u": owner.user_id})
        )
        .await,
        "FORBIDDEN"
    );
    app.data(
        Some(&admin.token),
        REMOVE,
        json!({"o": org, "u": member.user_id}),
    )
    .await;
    let by_slug = "query($s: String!) { organization(slug: $s) { id } }";
    assert_eq!(
        app.code(Some(&member.token), by_slug, json!({"s": "acme"}))
            .await,
        "NOT_FOUND",
        "removed"
    );
    assert_eq!(
        app.code(
            Some(&owner.token),
            REMOVE,
            json!({"o": org, "u": member.user_id})
        )
        .await,
        "NOT_FOUND"
    );
    assert_eq!(
        app.code(
            Some(&owner.token),
            CHANGE_ROLE,
            json!({"o": org, "u": "not-an-id", "r": "ADMIN"})
        )
        .await,
        "BAD_USER_INPUT"
    );
}

async fn an_owner_always_remains(app: &TestApp) {
    let owner = app.signup("owner@example.com").await;
    let org = app.create_org(&owner, "acme").await;
    let admin = app.join(&owner, &org, "admin@example.com", "ADMIN").await;
    let me_as = |user: &Account, role: &str| json!({"o": org, "u": user.user_id, "r": role});

    assert_eq!(
        app.code(Some(&owner.token), LEAVE, json!({"o": org})).await,
        "CONFLICT"
    );
    assert_eq!(
        app.code(Some(&owner.token), CHANGE_ROLE, me_as(&owner, "ADMIN"))
            .await,
        "CONFLICT"
    );
    assert_eq!(
        app.code(
            Some(&admin.token),
            TRANSFER,
            json!({"o": org, "u": admin.user_id})
        )
        .await,
        "FORBIDDEN"
    );
    app.data(
        Some(&owner.token),
        TRANSFER,
        json!({"o": org, "u": admin.user_id}),
    )
    .await;
    let roles = app
        .data(Some(&owner.token), MEMBERS, json!({"o": org}))
        .await;
    let by_email: Vec<(Value, Value)> = roles["members"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["node"]["user"]["email"].clone(),
                e["node"]["role"].clone(),
            )
        })
        .collect();
    assert_eq!(
        by_email,
        [
            (json!("owner@example.com"), json!("ADMIN")),
            (json!("admin@example.com"), json!("OWNER"))
        ]
    );
    // The former owner may now leave; the new one may not.
    app.data(Some(&owner.token), LEAVE, json!({"o": org})).await;
    assert_eq!(
        app.code(Some(&admin.token), LEAVE, json!({"o": org})).await,
        "CONFLICT"
    );
}

async fn members_are_paginated(app: &TestApp) {
    let owner = app.signup("owner@example.com").await;
    let org = app.create_org(&owner, "acme").await;
    for n in 0..4 {
        app.join(&owner, &org, &format!("m{n}@example.com"), "MEMBER")
            .await;
    }
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = app
            .data(
                Some(&owner.token),
                MEMBERS,
                json!({"o": org, "first": 2, "after": after}),
            )
            .await;
        let members = &page["members"];
        for edge in members["edges"].as_array().unwrap() {
            seen.push(edge["node"]["user"]["email"].as_str().unwrap().to_string());
        }
        if members["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = members["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(
        seen,
        [
            "owner@example.com",
            "m0@example.com",
            "m1@example.com",
            "m2@example.com",
            "m3@example.com"
        ]
    );
    for (vars, field) in [
        (json!({"o": org, "first": 0}), "first"),
        (json!({"o": org, "first": 101}), "first"),
        (json!({"o": org, "after": "garbage"}), "after"),
    ] {
        let (code, error) = app.error(Some(&owner.token), MEMBERS, vars).await;
        assert_eq!(
            (code.as_str(), &error["extensions"]["field"]),
            ("BAD_USER_INPUT", &json!(field))
        );
    }
}
